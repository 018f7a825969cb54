# The README's demo values (scripts/demo-expected.tsv) and the check that a sandbox's
# Opportunities hold them, for scripts/demo.sh and scripts/container-test.sh (sourced from
# the repository's root).
# shellcheck shell=bash

demo_values=$(grep -v '^#' scripts/demo-expected.tsv)
mapfile -t demo_expected <<<"$demo_values"

# demo_values_written SANDBOX_URL: whether every Opportunity there ends with its value.
demo_values_written() {
    local listing line
    listing=$(curl -fsS "$1/sandbox/opportunities.txt") || return 1
    for line in "${demo_expected[@]}"; do
        # The value ends at the next tab: a prefix of the right value does not count.
        grep -qF -- "$line"$'\t' <<<"$listing" || return 1
    done
}
