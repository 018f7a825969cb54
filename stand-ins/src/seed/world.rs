//! The seeded world's data: the Opportunities and the calls that mention them.

pub(crate) struct SeedOpportunity {
    pub id: &'static str,
    pub name: &'static str,
    pub stage: &'static str,
    pub amount: u32,
    /// Close date, in days from today.
    pub closes_in_days: i64,
    /// The value before the service writes anything: typed by a rep, or empty.
    pub main_competitors: Option<&'static str>,
    /// `Competitors__c` before the service writes anything: values a rep selected.
    pub competitors_picklist: Option<&'static str>,
    /// The rows a person added to the Competitors related list.
    pub competitor_rows: &'static [SeedCompetitorRow],
}

/// A row of an Opportunity's Competitors related list, as a person filled it.
pub(crate) struct SeedCompetitorRow {
    pub name: &'static str,
    pub strengths: Option<&'static str>,
}

pub(crate) const OPPORTUNITIES: &[SeedOpportunity] = &[
    SeedOpportunity {
        id: "0065g0000AcmRnwAAA",
        name: "Acme Corp - Renewal 2027",
        stage: "Negotiation/Review",
        amount: 184_000,
        closes_in_days: 24,
        main_competitors: None,
        competitors_picklist: None,
        competitor_rows: &[],
    },
    SeedOpportunity {
        id: "0065g0000GlbxNBAAA",
        name: "Globex - New Business",
        stage: "Qualification",
        amount: 96_500,
        closes_in_days: 61,
        main_competitors: Some("Outreach"),
        competitors_picklist: Some("Outreach"),
        competitor_rows: &[SeedCompetitorRow {
            name: "Outreach",
            strengths: Some("Sequencing; large install base"),
        }],
    },
    SeedOpportunity {
        id: "0065g0000InitPXAAA",
        name: "Initech - Platform Expansion",
        stage: "Proposal/Price Quote",
        amount: 240_000,
        closes_in_days: 38,
        main_competitors: None,
        competitors_picklist: None,
        competitor_rows: &[],
    },
    SeedOpportunity {
        id: "0065g0000InitEMAAA",
        name: "Initech - EMEA Rollout",
        stage: "Needs Analysis",
        amount: 120_000,
        closes_in_days: 90,
        main_competitors: None,
        competitors_picklist: None,
        competitor_rows: &[],
    },
    SeedOpportunity {
        id: "0065g0000UmbPltAAA",
        name: "Umbrella - Security Pilot",
        stage: "Value Proposition",
        amount: 45_000,
        closes_in_days: 30,
        main_competitors: Some("Chorus"),
        competitors_picklist: None,
        competitor_rows: &[],
    },
    SeedOpportunity {
        id: "0065g0000HooEntAAA",
        name: "Hooli - Enterprise Agreement",
        stage: "Negotiation/Review",
        amount: 410_000,
        closes_in_days: 14,
        main_competitors: None,
        competitors_picklist: None,
        competitor_rows: &[],
    },
    SeedOpportunity {
        id: "0065g0000VanImpAAA",
        name: "Vandelay Industries - Import/Export Suite",
        stage: "Perception Analysis",
        amount: 72_000,
        closes_in_days: 45,
        main_competitors: None,
        competitors_picklist: None,
        competitor_rows: &[],
    },
    SeedOpportunity {
        id: "0065g0000SoyUpsAAA",
        name: "Soylent - Q3 Upsell",
        stage: "Closed Won",
        amount: 38_000,
        closes_in_days: -20,
        main_competitors: Some("Clari"),
        competitors_picklist: None,
        competitor_rows: &[],
    },
    SeedOpportunity {
        id: "0065g0000WayAnlAAA",
        name: "Wayne Enterprises - Analytics Pilot",
        stage: "Qualification",
        amount: 150_000,
        closes_in_days: 75,
        main_competitors: None,
        competitors_picklist: None,
        competitor_rows: &[],
    },
];

pub(super) struct Person {
    pub name: &'static str,
    pub email: &'static str,
    pub title: &'static str,
}

/// When a seeded call started.
pub(super) enum Started {
    /// `days` before today, at `at_minute` after midnight UTC.
    DaysAgo { days: i64, at_minute: i64 },
    /// This long before the sandbox started.
    HoursAgo(i64),
}

pub(super) struct SeedCall {
    pub id: &'static str,
    pub title: &'static str,
    pub started: Started,
    /// Whether `competitor-sync-sandbox fire` sends its webhook; one call's delivery is
    /// "lost", for the service's catch-up sweep to find.
    pub webhook_sent: bool,
    pub duration_secs: u32,
    pub external: bool,
    pub rep: Person,
    pub buyer: Option<Person>,
    pub account: Option<(&'static str, &'static str)>,
    pub opportunities: &'static [&'static str],
    /// The Competitors tracker's phrases the buyer said, and how often.
    pub competitors: &'static [(&'static str, u32)],
    /// Phrases only the rep said: a rule counting the customer's mentions leaves them out.
    pub rep_mentions: &'static [(&'static str, u32)],
    /// What `/v2/calls/transcript` answers: who said each sentence. Empty for most calls.
    pub transcript: &'static [(Speaker, &'static str)],
}

/// Who said a sentence of a seeded transcript.
#[derive(Clone, Copy)]
pub(super) enum Speaker {
    Rep,
    Buyer,
}

const RILEY: Person = Person {
    name: "Riley Rep",
    email: "riley.rep@example.com",
    title: "Account Executive",
};
const MORGAN: Person = Person {
    name: "Morgan Closer",
    email: "morgan.closer@example.com",
    title: "Enterprise Account Executive",
};

pub(super) const CALLS: &[SeedCall] = &[
    SeedCall {
        id: "7782342274025937969",
        title: "Vandelay Industries | Product demo",
        started: Started::DaysAgo {
            days: 27,
            at_minute: 15 * 60,
        },
        webhook_sent: true,
        duration_secs: 3120,
        external: true,
        rep: RILEY,
        buyer: Some(Person {
            name: "Art Vandelay",
            email: "art@vandelay.example",
            title: "Head of Imports",
        }),
        account: Some(("0015g0000VandelAAA", "Vandelay Industries")),
        opportunities: &["0065g0000VanImpAAA"],
        competitors: &[("Outreach", 4), ("Salesloft", 2), ("Clari", 1)],
        rep_mentions: &[],
        transcript: &[],
    },
    SeedCall {
        id: "7782342274025937952",
        title: "Hooli | Contract negotiation",
        started: Started::DaysAgo {
            days: 23,
            at_minute: 17 * 60 + 30,
        },
        webhook_sent: true,
        duration_secs: 2580,
        external: true,
        rep: MORGAN,
        buyer: Some(Person {
            name: "Gavin Belson",
            email: "gavin@hooli.example",
            title: "CEO",
        }),
        account: Some(("0015g0000HooliXAAA", "Hooli")),
        opportunities: &["0065g0000HooEntAAA"],
        // An alias pair: the competitor list writes both as "Chorus".
        competitors: &[("Chorus", 3), ("chorus.ai", 1), ("Wingman", 1)],
        rep_mentions: &[],
        transcript: &[],
    },
    SeedCall {
        id: "7782342274025937948",
        title: "Stark Industries | Intro call",
        started: Started::DaysAgo {
            days: 18,
            at_minute: 14 * 60,
        },
        webhook_sent: true,
        duration_secs: 1260,
        external: true,
        rep: RILEY,
        buyer: Some(Person {
            name: "Pepper Potts",
            email: "pepper@stark.example",
            title: "COO",
        }),
        // Early in the cycle: linked to the Account, no Opportunity yet.
        account: Some(("0015g0000StarkIAAA", "Stark Industries")),
        opportunities: &[],
        competitors: &[("Avoma", 2)],
        rep_mentions: &[],
        transcript: &[],
    },
    SeedCall {
        id: "7782342274025937934",
        title: "Weekly pipeline review",
        started: Started::DaysAgo {
            days: 14,
            at_minute: 9 * 60,
        },
        webhook_sent: true,
        duration_secs: 1800,
        external: false,
        rep: MORGAN,
        buyer: None,
        // Internal: no CRM context at all, though competitors come up.
        account: None,
        opportunities: &[],
        competitors: &[("Clari", 2)],
        rep_mentions: &[],
        transcript: &[],
    },
    SeedCall {
        id: "7782342274025937927",
        title: "Umbrella | Security review",
        started: Started::DaysAgo {
            days: 12,
            at_minute: 16 * 60 + 15,
        },
        webhook_sent: true,
        duration_secs: 2940,
        external: true,
        rep: MORGAN,
        buyer: Some(Person {
            name: "Alice Abernathy",
            email: "alice@umbrella.example",
            title: "CISO",
        }),
        account: Some(("0015g0000UmbrelAAA", "Umbrella Corporation")),
        opportunities: &["0065g0000UmbPltAAA"],
        // No competitor came up: the rep's value must be left alone.
        competitors: &[],
        rep_mentions: &[],
        transcript: &[],
    },
    SeedCall {
        id: "7782342274025937913",
        title: "Initech | Technical deep dive",
        started: Started::DaysAgo {
            days: 9,
            at_minute: 13 * 60,
        },
        webhook_sent: true,
        duration_secs: 3600,
        external: true,
        rep: RILEY,
        buyer: Some(Person {
            name: "Bill Lumbergh",
            email: "bill@initech.example",
            title: "VP Operations",
        }),
        account: Some(("0015g0000InitecAAA", "Initech")),
        opportunities: &["0065g0000InitPXAAA", "0065g0000InitEMAAA"],
        competitors: &[("Clari", 6), ("People.ai", 2)],
        rep_mentions: &[],
        transcript: &[],
    },
    SeedCall {
        id: "7782342274025937901",
        title: "Globex | Discovery call",
        started: Started::DaysAgo {
            days: 5,
            at_minute: 10 * 60 + 30,
        },
        webhook_sent: true,
        duration_secs: 2100,
        external: true,
        rep: RILEY,
        buyer: Some(Person {
            name: "Hank Scorpio",
            email: "hank@globex.example",
            title: "President",
        }),
        account: Some(("0015g0000GlobexAAA", "Globex Corporation")),
        opportunities: &["0065g0000GlbxNBAAA"],
        competitors: &[("Salesloft", 3), ("Outreach", 2)],
        // The rep's own pitch: only the customer's mentions are written.
        rep_mentions: &[("Gong", 1)],
        transcript: &[],
    },
    SeedCall {
        id: "7782342274025937895",
        title: "Acme Corp | Renewal pricing review",
        started: Started::DaysAgo {
            days: 2,
            at_minute: 10 * 60,
        },
        webhook_sent: true,
        duration_secs: 2710,
        external: true,
        rep: MORGAN,
        buyer: Some(Person {
            name: "Blake Buyer",
            email: "blake.buyer@acme.example",
            title: "VP Sales Ops",
        }),
        account: Some(("0015g0000AcmeCoAAA", "Acme Corp")),
        opportunities: &["0065g0000AcmRnwAAA"],
        competitors: &[("Clari", 5), ("Chorus", 3), ("Outreach", 1)],
        rep_mentions: &[],
        transcript: &[],
    },
    SeedCall {
        id: "7782342274025937990",
        title: "Wayne Enterprises | Pilot kickoff",
        // Recent, and the only call young enough for the sandbox's sweep window.
        started: Started::HoursAgo(3),
        // Its webhook never comes: the catch-up sweep finds the call in Gong.
        webhook_sent: false,
        duration_secs: 2400,
        external: true,
        rep: RILEY,
        buyer: Some(Person {
            name: "Lucius Fox",
            email: "lucius@wayne.example",
            title: "CTO",
        }),
        account: Some(("0015g0000WayneEAAA", "Wayne Enterprises")),
        opportunities: &["0065g0000WayAnlAAA"],
        // The tracker lists no phrases; the transcript names the competitors.
        competitors: &[],
        rep_mentions: &[],
        transcript: &[
            (Speaker::Rep, "Thanks for making the time, Lucius."),
            (Speaker::Buyer, "We sat through an Avoma demo last month."),
            (
                Speaker::Rep,
                "Unlike Gong, we coach from every call, not a sample.",
            ),
            (
                Speaker::Buyer,
                "Fair. Clari is in the running too, honestly.",
            ),
        ],
    },
];
