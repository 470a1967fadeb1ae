//! Every Cypher text the adapter sends, in one place: the boltstub scripts pin them on the wire and
//! the FalkorDB dialect test runs them, so both check exactly these strings.
//!
//! Keys: every node has one unique `key` (Neo4j Community enforces uniqueness on one property,
//! not the original's NODE KEYs): a repository's is its lower-case name (`$repo`), a file's
//! `repo|path`, a pull request's and an issue's `repo|number`, a developer's `repo|login`. Nodes
//! of a repository also carry `repo_key`, which the per-repository lookups use (the original's
//! nodes carry `repo` and never match).
//!
//! A file is indexed while its repository `CONTAINS` it; a pull request touching a file the scan
//! never saw (or a file a later scan dropped) keeps an unindexed `File` node for its history.

/// The original service's constraints, dropped so that Nectr's keyed nodes can be written in a
/// database it used: `developer_unique` made developers global across tenants, and the NODE KEYs
/// (which only Enterprise could create) would refuse files without the original's properties.
pub const DROP_LEGACY_CONSTRAINTS: [&str; 5] = [
    "DROP CONSTRAINT repo_unique IF EXISTS",
    "DROP CONSTRAINT file_unique IF EXISTS",
    "DROP CONSTRAINT pr_unique IF EXISTS",
    "DROP CONSTRAINT developer_unique IF EXISTS",
    "DROP CONSTRAINT issue_unique IF EXISTS",
];

/// Uniqueness of every label's `key` (single-property constraints, which Community supports).
pub const CREATE_CONSTRAINTS: [&str; 5] = [
    "CREATE CONSTRAINT repository_key IF NOT EXISTS FOR (n:Repository) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT file_key IF NOT EXISTS FOR (n:File) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT pull_request_key IF NOT EXISTS FOR (n:PullRequest) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT developer_key IF NOT EXISTS FOR (n:Developer) REQUIRE n.key IS UNIQUE",
    "CREATE CONSTRAINT issue_key IF NOT EXISTS FOR (n:Issue) REQUIRE n.key IS UNIQUE",
];

/// Indexes of the per-repository lookups.
pub const CREATE_INDEXES: [&str; 2] = [
    "CREATE INDEX file_repo IF NOT EXISTS FOR (n:File) ON (n.repo_key)",
    "CREATE INDEX pull_request_repo IF NOT EXISTS FOR (n:PullRequest) ON (n.repo_key)",
];

/// The health probe.
pub const HEALTH: &str = "RETURN 1 AS ok";

/// One chunk of a scan's files (`$rows`: `path`, `language`, `size`), stamped `$generation`.
pub const UPSERT_FILES: &str = "MERGE (r:Repository {key: $repo}) WITH r \
    UNWIND $rows AS row \
    MERGE (f:File {key: $repo + '|' + row.path}) \
    SET f.repo_key = $repo, f.path = row.path, f.language = row.language, f.size = row.size, \
    f.generation = $generation \
    MERGE (r)-[:CONTAINS]->(f)";

/// One chunk of a scan's imports (`$rows`: `source`, `target`), stamped `$generation`.
pub const UPSERT_IMPORTS: &str = "UNWIND $rows AS row \
    MATCH (a:File {key: $repo + '|' + row.source}) \
    MATCH (b:File {key: $repo + '|' + row.target}) \
    MERGE (a)-[i:IMPORTS]->(b) SET i.generation = $generation";

/// Removes up to `$chunk` imports older than `$generation`.
pub const REMOVE_STALE_IMPORTS: &str = "MATCH (:File {repo_key: $repo})-[i:IMPORTS]->() \
    WHERE i.generation < $generation WITH i LIMIT $chunk DELETE i RETURN count(*) AS removed";

/// Unindexes up to `$chunk` files older than `$generation` (their history stays).
pub const UNINDEX_STALE_FILES: &str = "MATCH (:Repository {key: $repo})-[c:CONTAINS]->(f:File) \
    WHERE f.generation < $generation WITH c, f LIMIT $chunk \
    DELETE c REMOVE f.generation RETURN count(*) AS removed";

/// Deletes up to `$chunk` unindexed files nothing refers to any more.
pub const DELETE_ORPHAN_FILES: &str = "MATCH (f:File {repo_key: $repo}) \
    WHERE f.generation IS NULL AND NOT (f)--() WITH f LIMIT $chunk DELETE f \
    RETURN count(*) AS removed";

/// Records a completed scan.
pub const RECORD_SCAN: &str = "MERGE (r:Repository {key: $repo}) \
    SET r.commit = $commit, r.generation = $generation, r.files_indexed = $files_indexed, \
    r.edges_indexed = $edges_indexed, r.scanned_at = $scanned_at";

/// The last completed scan.
pub const SCAN_RECORD: &str = "MATCH (r:Repository {key: $repo}) WHERE r.generation IS NOT NULL \
    RETURN r.commit AS commit, r.generation AS generation, r.files_indexed AS files_indexed, \
    r.edges_indexed AS edges_indexed, r.scanned_at AS scanned_at";

/// Writes a reviewed pull request and forgets its earlier touches, issues and author, which the
/// statements after it write again (a re-review replaces them instead of adding to them).
pub const UPSERT_PULL_REQUEST: &str = "MERGE (p:PullRequest {key: $repo + '|' + toString($number)}) \
    SET p.repo_key = $repo, p.number = $number, p.title = $title, p.author = $author, \
    p.verdict = $verdict, p.head_sha = $head_sha, p.reviewed_at = $reviewed_at \
    WITH p OPTIONAL MATCH (p)-[old:TOUCHES|CLOSES|AUTHORED_BY]->() DELETE old";

/// The pull request's author, a developer of this repository.
pub const LINK_AUTHOR: &str = "MATCH (p:PullRequest {key: $repo + '|' + toString($number)}) \
    MERGE (d:Developer {key: $repo + '|' + $login}) SET d.repo_key = $repo, d.login = $login \
    MERGE (p)-[:AUTHORED_BY]->(d) \
    MERGE (r:Repository {key: $repo}) MERGE (d)-[:CONTRIBUTED_TO]->(r)";

/// The files the pull request touched (`$files`: `path`, `language`).
pub const LINK_TOUCHES: &str = "MATCH (p:PullRequest {key: $repo + '|' + toString($number)}) \
    UNWIND $files AS file \
    MERGE (f:File {key: $repo + '|' + file.path}) \
    ON CREATE SET f.repo_key = $repo, f.path = file.path, f.language = file.language \
    MERGE (p)-[:TOUCHES]->(f)";

/// The issues the pull request closes (`$issues`: numbers).
pub const LINK_ISSUES: &str = "MATCH (p:PullRequest {key: $repo + '|' + toString($number)}) \
    UNWIND $issues AS issue \
    MERGE (i:Issue {key: $repo + '|' + toString(issue)}) \
    ON CREATE SET i.repo_key = $repo, i.number = issue \
    MERGE (p)-[:CLOSES]->(i)";

/// Reviewed pull requests touching `$paths`, but `$exclude`.
pub const RELATED_PULL_REQUESTS: &str = "UNWIND $paths AS changed \
    MATCH (:File {key: $repo + '|' + changed})<-[:TOUCHES]-(p:PullRequest) \
    WHERE p.verdict IS NOT NULL AND p.number <> $exclude \
    RETURN p.number AS number, p.title AS title, p.author AS author, p.verdict AS verdict, \
    count(DISTINCT changed) AS overlap ORDER BY overlap DESC, number DESC LIMIT $limit";

/// Authors of pull requests touching `$paths`. `count(p)`, not `count(*)`: FalkorDB counts the
/// paths through a node that nothing filters or reads afterwards once per end node.
pub const FILE_EXPERTS: &str = "UNWIND $paths AS changed \
    MATCH (:File {key: $repo + '|' + changed})<-[:TOUCHES]-(p:PullRequest)-[:AUTHORED_BY]->(d:Developer) \
    RETURN d.login AS login, count(p) AS touches ORDER BY touches DESC, login LIMIT $limit";

/// Files importing `$paths`, one or two hops away, with the shortest distance.
pub const DEPENDENTS: &str = "UNWIND $paths AS changed \
    MATCH route = (:File {key: $repo + '|' + changed})<-[:IMPORTS*1..2]-(d:File) \
    RETURN d.path AS path, min(length(route)) AS depth ORDER BY path";

/// Files by the pull requests touching them.
pub const HOTSPOTS: &str = "MATCH (p:PullRequest {repo_key: $repo})-[:TOUCHES]->(f:File) \
    RETURN f.path AS path, f.language AS language, count(DISTINCT p) AS n \
    ORDER BY n DESC, path LIMIT $limit";

/// Files by the pull requests with the verdict `$verdict` touching them.
pub const HIGH_RISK_FILES: &str = "MATCH (p:PullRequest {repo_key: $repo})-[:TOUCHES]->(f:File) \
    WHERE p.verdict = $verdict \
    RETURN f.path AS path, f.language AS language, count(DISTINCT p) AS n \
    ORDER BY n DESC, path LIMIT $limit";

/// How many indexed files no pull request touched.
pub const UNTOUCHED_COUNT: &str = "MATCH (:Repository {key: $repo})-[:CONTAINS]->(f:File) \
    WHERE NOT (f)<-[:TOUCHES]-() RETURN count(f) AS n";

/// The first indexed files no pull request touched, by path.
pub const UNTOUCHED_SAMPLE: &str = "MATCH (:Repository {key: $repo})-[:CONTAINS]->(f:File) \
    WHERE NOT (f)<-[:TOUCHES]-() \
    RETURN f.path AS path, f.language AS language ORDER BY path LIMIT $limit";

/// Touches per file and developer.
pub const TOUCH_COUNTS: &str = "MATCH (d:Developer)<-[:AUTHORED_BY]-(p:PullRequest {repo_key: $repo})-[:TOUCHES]->(f:File) \
    RETURN f.path AS path, d.login AS login, count(p) AS n";

/// Every touch, with its developer.
pub const DEVELOPER_TOUCHES: &str = "MATCH (d:Developer)<-[:AUTHORED_BY]-(p:PullRequest {repo_key: $repo})-[:TOUCHES]->(f:File) \
    RETURN d.login AS login, f.path AS path";

/// The repository graph's nodes: the most touched indexed files.
pub const GRAPH_NODES: &str = "MATCH (:Repository {key: $repo})-[:CONTAINS]->(f:File) \
    OPTIONAL MATCH (f)<-[:TOUCHES]-(p:PullRequest) \
    RETURN f.path AS path, f.language AS language, f.size AS size, count(DISTINCT p) AS pr_count \
    ORDER BY pr_count DESC, path LIMIT $limit";

/// Imports between the graph's nodes (`$paths`).
pub const GRAPH_IMPORTS: &str = "UNWIND $paths AS node \
    MATCH (a:File {key: $repo + '|' + node})-[:IMPORTS]->(b:File) WHERE b.path IN $paths \
    RETURN a.path AS source, b.path AS target";

/// Pairs of the graph's nodes (`$paths`) changed by the same pull requests.
pub const GRAPH_CO_CHANGES: &str = "UNWIND $paths AS node \
    MATCH (a:File {key: $repo + '|' + node})<-[:TOUCHES]-(p:PullRequest)-[:TOUCHES]->(b:File) \
    WHERE a.path < b.path AND b.path IN $paths \
    RETURN a.path AS source, b.path AS target, count(DISTINCT p) AS n";

/// Every indexed file, by path.
pub const FILES: &str = "MATCH (:Repository {key: $repo})-[:CONTAINS]->(f:File) \
    OPTIONAL MATCH (f)<-[:TOUCHES]-(p:PullRequest) \
    RETURN f.path AS path, f.language AS language, f.size AS size, count(DISTINCT p) AS pr_count \
    ORDER BY path";
