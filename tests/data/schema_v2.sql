-- The schema of an ExoRef library at schema version 2 (release 0.2.0), frozen so that
-- tests can build a genuine old library and open it with the current release.
CREATE TABLE library_info (
	"key" VARCHAR(64) NOT NULL, 
	value TEXT NOT NULL, 
	PRIMARY KEY ("key")
);
CREATE TABLE papers (
	id INTEGER NOT NULL, 
	citekey VARCHAR(200) NOT NULL, 
	entry_type VARCHAR(40) NOT NULL, 
	title TEXT NOT NULL, 
	year INTEGER, 
	journal TEXT NOT NULL, 
	booktitle TEXT NOT NULL, 
	volume VARCHAR(64) NOT NULL, 
	issue VARCHAR(64) NOT NULL, 
	pages VARCHAR(64) NOT NULL, 
	publisher TEXT NOT NULL, 
	doi VARCHAR(300) NOT NULL, 
	pmid VARCHAR(20) NOT NULL, 
	pmcid VARCHAR(20) NOT NULL, 
	arxiv VARCHAR(40) NOT NULL, 
	isbn VARCHAR(40) NOT NULL, 
	url TEXT NOT NULL, 
	abstract TEXT NOT NULL, 
	language VARCHAR(40) NOT NULL, 
	notes TEXT NOT NULL, 
	keywords JSON NOT NULL, 
	trial_ids JSON NOT NULL, 
	flags JSON NOT NULL, 
	extra JSON NOT NULL, 
	latex JSON NOT NULL, 
	first_author TEXT NOT NULL, 
	title_key VARCHAR(300) NOT NULL, 
	added DATETIME NOT NULL, 
	modified DATETIME NOT NULL, 
	trashed_at DATETIME, 
	PRIMARY KEY (id), 
	UNIQUE (citekey)
);
CREATE INDEX ix_papers_added ON papers (added);
CREATE INDEX ix_papers_flagged ON papers (id) WHERE flags <> '[]';
CREATE INDEX ix_papers_pmid ON papers (pmid);
CREATE INDEX ix_papers_title_key ON papers (title_key);
CREATE INDEX ix_papers_pmcid ON papers (pmcid);
CREATE INDEX ix_papers_title_sort ON papers (title COLLATE NOCASE);
CREATE INDEX ix_papers_trashed_at ON papers (trashed_at);
CREATE INDEX ix_papers_doi_folded ON papers (lower(doi));
CREATE INDEX ix_papers_journal_sort ON papers (journal COLLATE NOCASE);
CREATE INDEX ix_papers_first_author_sort ON papers (first_author COLLATE NOCASE);
CREATE INDEX ix_papers_year ON papers (year);
CREATE TABLE tags (
	id INTEGER NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	name_key VARCHAR(200) NOT NULL, 
	kind VARCHAR(20) NOT NULL, 
	parent_id INTEGER, 
	PRIMARY KEY (id), 
	UNIQUE (kind, name_key), 
	FOREIGN KEY(parent_id) REFERENCES tags (id) ON DELETE SET NULL
);
CREATE INDEX ix_tags_name_key ON tags (name_key);
CREATE TABLE import_failures (
	path TEXT NOT NULL, 
	reason TEXT NOT NULL, 
	at DATETIME NOT NULL, 
	PRIMARY KEY (path)
);
CREATE TABLE paper_authors (
	paper_id INTEGER NOT NULL, 
	position INTEGER NOT NULL, 
	family TEXT NOT NULL, 
	given TEXT NOT NULL, 
	PRIMARY KEY (paper_id, position), 
	FOREIGN KEY(paper_id) REFERENCES papers (id) ON DELETE CASCADE
);
CREATE TABLE attachments (
	id INTEGER NOT NULL, 
	paper_id INTEGER NOT NULL, 
	path VARCHAR(1024) NOT NULL, 
	original_name TEXT NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	size INTEGER NOT NULL, 
	page_count INTEGER, 
	has_text BOOLEAN NOT NULL, 
	added DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(paper_id) REFERENCES papers (id) ON DELETE CASCADE, 
	UNIQUE (path)
);
CREATE INDEX ix_attachments_paper_id ON attachments (paper_id);
CREATE INDEX ix_attachments_sha256 ON attachments (sha256);
CREATE TABLE paper_tags (
	paper_id INTEGER NOT NULL, 
	tag_id INTEGER NOT NULL, 
	source VARCHAR(20) NOT NULL, 
	score FLOAT, 
	PRIMARY KEY (paper_id, tag_id), 
	FOREIGN KEY(paper_id) REFERENCES papers (id) ON DELETE CASCADE, 
	FOREIGN KEY(tag_id) REFERENCES tags (id) ON DELETE CASCADE
);
CREATE INDEX ix_paper_tags_tag ON paper_tags (tag_id);
CREATE VIRTUAL TABLE search_meta USING fts5(title, authors, abstract, keywords, tags, journal, facets, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3 4');
CREATE VIRTUAL TABLE search_body USING fts5(title, authors, abstract, keywords, tags, journal, facets, body, tokenize = 'unicode61 remove_diacritics 2');
PRAGMA user_version = 2;
