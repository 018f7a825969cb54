//! The part of SOQL the service and a curious developer use:
//! `SELECT f1, f2 FROM Object [WHERE <Id | OpportunityId> IN ('a', 'b') | = 'a'] [LIMIT n]`.

#[derive(Debug, PartialEq, Eq)]
pub struct Query {
    pub fields: Vec<String>,
    pub object: String,
    /// `None` selects every record.
    pub filter: Option<Filter>,
    pub limit: Option<usize>,
}

/// `WHERE field IN (values)`; `field = 'a'` is a list of one.
#[derive(Debug, PartialEq, Eq)]
pub struct Filter {
    pub field: FilterField,
    pub values: Vec<String>,
}

/// The id fields a query may select by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterField {
    Id,
    /// An OpportunityCompetitor row's Opportunity.
    OpportunityId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Text(String),
    Comma,
    Open,
    Close,
    Equals,
}

impl Token {
    fn is_keyword(&self, keyword: &str) -> bool {
        matches!(self, Self::Word(word) if word.eq_ignore_ascii_case(keyword))
    }
}

type Tokens<'a> = std::iter::Peekable<std::slice::Iter<'a, Token>>;

/// Parses `text`, or says what is wrong in the words of Salesforce's MALFORMED_QUERY.
pub fn parse(text: &str) -> Result<Query, String> {
    let tokens = tokenize(text)?;
    let mut at = tokens.iter().peekable();
    expect_keyword(&mut at, "SELECT")?;
    let mut fields = Vec::new();
    loop {
        match at.next() {
            Some(Token::Word(word)) if !word.eq_ignore_ascii_case("FROM") => {
                fields.push(word.clone())
            }
            Some(token) => return Err(format!("unexpected token: {}", show(token))),
            None => return Err("unexpected end of query, expected a field".into()),
        }
        if at.peek() == Some(&&Token::Comma) {
            at.next();
        } else {
            break;
        }
    }
    expect_keyword(&mut at, "FROM")?;
    let object = match at.next() {
        Some(Token::Word(word)) => word.clone(),
        Some(token) => return Err(format!("unexpected token: {}", show(token))),
        None => return Err("unexpected end of query, expected an object".into()),
    };
    let mut filter = None;
    if at.peek().is_some_and(|t| t.is_keyword("WHERE")) {
        at.next();
        filter = Some(where_clause(&mut at)?);
    }
    let mut limit = None;
    if at.peek().is_some_and(|t| t.is_keyword("LIMIT")) {
        at.next();
        limit = Some(match at.next() {
            Some(Token::Word(number)) => number
                .parse()
                .map_err(|_| format!("unexpected token: {number}"))?,
            Some(token) => return Err(format!("unexpected token: {}", show(token))),
            None => return Err("unexpected end of query after LIMIT".into()),
        });
    }
    if let Some(token) = at.next() {
        return Err(format!(
            "unexpected token: {} (this stand-in understands SELECT ... FROM ... [WHERE Id|OpportunityId IN (...)] [LIMIT n])",
            show(token)
        ));
    }
    Ok(Query {
        fields,
        object,
        filter,
        limit,
    })
}

/// `Id IN (...)`, `OpportunityId = '...'` and the like, after WHERE.
fn where_clause(at: &mut Tokens<'_>) -> Result<Filter, String> {
    let field = match at.next() {
        Some(token) if token.is_keyword("Id") => FilterField::Id,
        Some(token) if token.is_keyword("OpportunityId") => FilterField::OpportunityId,
        Some(token) => {
            return Err(format!(
                "unexpected token: {} (this stand-in filters on Id or OpportunityId only)",
                show(token)
            ))
        }
        None => return Err("unexpected end of query after WHERE".into()),
    };
    let values = match at.next() {
        Some(Token::Equals) => vec![text_literal(at.next())?],
        Some(token) if token.is_keyword("IN") => in_list(at)?,
        Some(token) => return Err(format!("unexpected token: {}", show(token))),
        None => return Err("unexpected end of query after the filtered field".into()),
    };
    Ok(Filter { field, values })
}

fn expect_keyword(at: &mut Tokens<'_>, keyword: &str) -> Result<(), String> {
    match at.next() {
        Some(token) if token.is_keyword(keyword) => Ok(()),
        Some(token) => Err(format!("unexpected token: {}", show(token))),
        None => Err(format!("unexpected end of query, expected {keyword}")),
    }
}

fn in_list(at: &mut Tokens<'_>) -> Result<Vec<String>, String> {
    if at.next() != Some(&Token::Open) {
        return Err("expected ( after IN".into());
    }
    let mut ids = vec![text_literal(at.next())?];
    loop {
        match at.next() {
            Some(Token::Comma) => ids.push(text_literal(at.next())?),
            Some(Token::Close) => return Ok(ids),
            Some(token) => return Err(format!("unexpected token: {}", show(token))),
            None => return Err("unexpected end of query, expected )".into()),
        }
    }
}

fn text_literal(token: Option<&Token>) -> Result<String, String> {
    match token {
        Some(Token::Text(text)) => Ok(text.clone()),
        Some(token) => Err(format!(
            "unexpected token: {} (ids are quoted: 'id')",
            show(token)
        )),
        None => Err("unexpected end of query, expected a quoted id".into()),
    }
}

fn show(token: &Token) -> String {
    match token {
        Token::Word(word) => word.clone(),
        Token::Text(text) => format!("'{text}'"),
        Token::Comma => ",".into(),
        Token::Open => "(".into(),
        Token::Close => ")".into(),
        Token::Equals => "=".into(),
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            ',' => tokens.push(Token::Comma),
            '(' => tokens.push(Token::Open),
            ')' => tokens.push(Token::Close),
            '=' => tokens.push(Token::Equals),
            '\'' => {
                let mut literal = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => literal.extend(chars.next()),
                        Some('\'') => break,
                        Some(c) => literal.push(c),
                        None => return Err("unterminated quoted string".into()),
                    }
                }
                tokens.push(Token::Text(literal));
            }
            c if c.is_ascii_alphanumeric() || c == '_' || c == '.' => {
                let mut word = String::from(c);
                while let Some(&next) = chars.peek() {
                    if next.is_ascii_alphanumeric() || next == '_' || next == '.' {
                        word.push(next);
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push(Token::Word(word));
            }
            other => return Err(format!("unexpected character: {other}")),
        }
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_services_query_is_understood() {
        let query = parse(
            "SELECT Id, Main_Competitors__c FROM Opportunity WHERE Id IN ('0065g0000AcmRnwAAA','0065g0000GlbxNB')",
        )
        .expect("parsed");
        assert_eq!(query.fields, ["Id", "Main_Competitors__c"]);
        assert_eq!(query.object, "Opportunity");
        assert_eq!(
            query.filter,
            Some(Filter {
                field: FilterField::Id,
                values: vec!["0065g0000AcmRnwAAA".into(), "0065g0000GlbxNB".into()]
            })
        );
        assert_eq!(query.limit, None);
    }

    #[test]
    fn keywords_are_case_insensitive_and_where_and_limit_optional() {
        let query =
            parse("select Name from opportunity where id = '006x' limit 5").expect("parsed");
        let filter = query.filter.expect("a filter");
        assert_eq!(filter.values, ["006x"]);
        assert_eq!(query.limit, Some(5));
        let all = parse("SELECT Id FROM Opportunity").expect("parsed");
        assert_eq!(all.filter, None);
    }

    #[test]
    fn rows_are_selected_by_their_opportunity() {
        let query = parse(
            "SELECT Id, OpportunityId, CompetitorName FROM OpportunityCompetitor WHERE opportunityid IN ('0065g0000AcmRnw', '0065g0000GlbxNBAAA')",
        )
        .expect("parsed");
        assert_eq!(query.object, "OpportunityCompetitor");
        let filter = query.filter.expect("a filter");
        assert_eq!(filter.field, FilterField::OpportunityId);
        assert_eq!(filter.values.len(), 2);
    }

    #[test]
    fn what_is_not_understood_is_refused_with_the_token() {
        assert!(parse("SELECT FROM Opportunity").is_err());
        assert!(parse("SELECT Id FROM Opportunity WHERE Name = 'x'")
            .expect_err("only ids")
            .contains("Name"));
        assert!(parse("SELECT Id FROM Opportunity WHERE Id IN (006x)").is_err());
        assert!(parse("SELECT Id FROM Opportunity WHERE Id IN ('a'").is_err());
        assert!(parse("SELECT Id FROM Opportunity ORDER BY Name")
            .expect_err("no ORDER BY")
            .contains("ORDER"));
        assert!(parse("SELECT Id FROM Opportunity WHERE Id = 'a").is_err());
    }
}
