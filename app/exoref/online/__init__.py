"""Online lookups: Crossref, doi.org, PubMed E-utilities, the PMC id converter."""
