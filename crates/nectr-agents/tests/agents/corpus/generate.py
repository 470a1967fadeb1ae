"""Writes the labelled corpus of the offline reviewer: NN-name.diff and NN-name.expect.

Each .expect line is `category path:line`, one per finding a careful reviewer would raise; an
empty .expect marks a clean change. Run `python3 generate.py` here to rewrite the files.
"""
import os

cases = []


def new_file(path, lines):
    body = "".join("+" + line + "\n" for line in lines)
    return f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{len(lines)} @@\n{body}"


def modify(path, start, before, added, after):
    old_len = len(before) + len(after)
    new_len = old_len + len(added)
    body = "".join(" " + l + "\n" for l in before) + "".join("+" + l + "\n" for l in added) + "".join(" " + l + "\n" for l in after)
    return f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -{start},{old_len} +{start},{new_len} @@\n{body}"


def case(name, diffs, expect):
    cases.append((name, "".join(diffs), expect))


RUST_TEST = new_file("tests/greeting.rs", ["use app::greet;", "", "#[test]", "fn greets_by_name() {", '    assert_eq!(greet("Ada"), "Hello, Ada!");', "}"])
PY_TEST = new_file("tests/test_app.py", ["from app import handler", "", "def test_handler_returns_ok():", "    assert handler({}) == 200"])
TS_TEST = new_file("src/app.test.ts", ["import { handler } from './app';", "", "test('handler answers', () => {", "  expect(handler({})).toBe(200);", "});"])

# Seeded: committed secrets.
case("aws-key", [modify("config/settings.py", 10, ["REGION = 'eu-west-1'"], ["AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLF'"], ["TIMEOUT = 30"])], ["secret config/settings.py:11"])
case("github-token", [new_file("scripts/release.sh", ["#!/bin/sh", "set -eu", "export GITHUB_TOKEN=ghp_16C7e42F292c6912E7710c838347Ae178B4a", 'gh release create "$1"'])], ["secret scripts/release.sh:3"])
case("slack-token", [modify("src/notify.js", 4, ["const { WebClient } = require('@slack/web-api');"], ["const slack = new WebClient('xoxb-2834923842-9238492384-aBcDeFgHiJkLmN');"], ["module.exports = slack;"])], ["secret src/notify.js:5"])
case("private-key", [new_file("deploy/id_rsa", ["-----BEGIN OPENSSH PRIVATE KEY-----", "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAABlwAAAAdzc2gtcn", "-----END OPENSSH PRIVATE KEY-----"])], ["secret deploy/id_rsa:1"])
case("db-password", [modify("docker-compose.yml", 20, ["    environment:"], ["      DATABASE_URL: postgres://app:S3cr3tPassw0rd@db:5432/app"], ["    ports:"])], ["secret docker-compose.yml:21"])
case("fine-grained-pat", [modify("ci/publish.py", 1, ["import os"], ["TOKEN = 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz'"], ["API = 'https://api.github.com'"])], ["secret ci/publish.py:2"])
# Seeded: merge-conflict markers.
case("conflict-rust", [modify("src/lib.rs", 3, ["pub fn limit() -> usize {"], ["<<<<<<< HEAD", "    10", "=======", "    20", ">>>>>>> feature/limits"], ["}"])], ["merge-conflict src/lib.rs:4", "merge-conflict src/lib.rs:6", "merge-conflict src/lib.rs:8"])
case("conflict-python", [modify("app/views.py", 12, ["def index():"], ["<<<<<<< ours", "    return render('index.html')", "=======", "    return render('home.html')", ">>>>>>> theirs"], [""])], ["merge-conflict app/views.py:13", "merge-conflict app/views.py:15", "merge-conflict app/views.py:17"])
case("conflict-docs", [modify("docs/setup.md", 1, ["# Setup"], ["<<<<<<< HEAD", "Run make.", "=======", "Run just.", ">>>>>>> main"], [])], ["merge-conflict docs/setup.md:2", "merge-conflict docs/setup.md:4", "merge-conflict docs/setup.md:6"])
# Seeded: debug leftovers.
case("dbg-rust", [modify("src/parse.rs", 40, ["    let tokens = lex(input);"], ["    dbg!(&tokens);"], ["    build(tokens)"])], ["debug-leftover src/parse.rs:41"])
case("console-log", [modify("web/src/cart.ts", 8, ["export function total(items: Item[]): number {"], ["  console.log('items', items);"], ["  return items.reduce((sum, item) => sum + item.price, 0);"])], ["debug-leftover web/src/cart.ts:9"])
case("debugger", [modify("web/src/form.js", 15, ["function submit(event) {"], ["  debugger;"], ["  event.preventDefault();"])], ["debug-leftover web/src/form.js:16"])
case("breakpoint", [modify("app/jobs.py", 30, ["def run(job):"], ["    breakpoint()"], ["    return job.execute()"])], ["debug-leftover app/jobs.py:31"])
case("print-debug", [modify("app/billing.py", 50, ["    amount = compute(invoice)"], ["    print('DEBUG amount', amount)"], ["    return amount"])], ["debug-leftover app/billing.py:51"])
# Seeded: TODO without an issue.
case("todo-rust", [modify("src/cache.rs", 20, ["impl Cache {"], ["    // TODO: evict old entries"], ["    pub fn get(&self) {}"])], ["todo src/cache.rs:21"])
case("fixme-python", [modify("app/auth.py", 5, ["def login(user):"], ["    # FIXME this accepts expired sessions"], ["    return session_for(user)"])], ["todo app/auth.py:6"])
case("todo-js", [modify("web/src/api.js", 2, ["const BASE = '/api';"], ["/* TODO handle retries */"], ["export const get = (path) => fetch(BASE + path);"])], ["todo web/src/api.js:3"])
# Seeded: TLS verification disabled.
case("requests-verify", [modify("app/client.py", 9, ["def fetch(url):"], ["    return requests.get(url, verify=False)"], [""])], ["tls-disabled app/client.py:10"])
case("node-reject", [modify("web/server/proxy.js", 3, ["const agent = new https.Agent({"], ["  rejectUnauthorized: false,"], ["});"])], ["tls-disabled web/server/proxy.js:4"])
case("go-insecure", [modify("internal/http/client.go", 12, ["\ttlsConfig := &tls.Config{"], ["\t\tInsecureSkipVerify: true,"], ["\t}"])], ["tls-disabled internal/http/client.go:13"])
case("rust-invalid-certs", [modify("src/http.rs", 7, ["    let client = reqwest::Client::builder()"], ["        .danger_accept_invalid_certs(true)"], ["        .build()?;"])], ["tls-disabled src/http.rs:8"])
# Seeded: SQL built from strings.
case("sql-fstring", [modify("app/repo.py", 14, ["def find(cursor, name):"], ['    cursor.execute(f"SELECT * FROM users WHERE name = \'{name}\'")'], ["    return cursor.fetchone()"])], ["sql-injection app/repo.py:15"])
case("sql-concat", [modify("server/db.js", 6, ["async function byEmail(email) {"], ['  return pool.query("SELECT id FROM accounts WHERE email = \'" + email + "\'");'], ["}"])], ["sql-injection server/db.js:7"])
case("sql-format", [modify("src/store.rs", 30, ["    let id = request.id;"], ['    let sql = format!("DELETE FROM sessions WHERE id = {id}");'], ["    conn.execute(&sql)?;"])], ["sql-injection src/store.rs:31"])
case("sql-percent", [modify("app/report.py", 3, ["def total(cursor, table):"], ['    cursor.execute("SELECT count(*) FROM %s" % table)'], ["    return cursor.fetchone()[0]"])], ["sql-injection app/report.py:4"])
# Seeded: eval/exec of dynamic strings.
case("py-eval", [modify("app/calc.py", 2, ["def compute(expression):"], ["    return eval(expression)"], [""])], ["eval app/calc.py:3"])
case("js-eval", [modify("web/src/plugins.js", 10, ["export function load(code) {"], ["  return eval(code);"], ["}"])], ["eval web/src/plugins.js:11"])
case("py-exec", [modify("app/hooks.py", 7, ["def run_hook(source):"], ["    exec(source, {})"], [""])], ["eval app/hooks.py:8"])
# Seeded: unwrap/expect in non-test Rust.
case("rust-unwrap", [modify("src/config.rs", 12, ["pub fn load(path: &Path) -> Config {"], ["    let text = std::fs::read_to_string(path).unwrap();"], ["    toml::from_str(&text).unwrap_or_default()"])], ["unwrap src/config.rs:13"])
case("rust-expect", [modify("src/main.rs", 3, ["fn main() {"], ['    let port: u16 = std::env::var("PORT").expect("PORT is set").parse().unwrap_or(8000);'], ["    serve(port);"])], ["unwrap src/main.rs:4"])
case("rust-unwrap-server", [modify("crates/server/src/routes.rs", 22, ["async fn show(id: Path<u64>) -> Json<Item> {"], ["    Json(STORE.get(*id).unwrap())"], ["}"])], ["unwrap crates/server/src/routes.rs:23"])
# Seeded: a very large new file.
case("large-file", [new_file("data/countries.json", ["["] + [f'  {{"code": "C{index:04}", "name": "Country {index}"}},' for index in range(1200)] + ["]"])], ["large-file data/countries.json:1"])
# Seeded: lockfiles without their manifests.
case("cargo-lock", [modify("Cargo.lock", 100, ['name = "serde"'], ['version = "1.0.999"'], ['source = "registry+https://github.com/rust-lang/crates.io-index"'])], ["lockfile Cargo.lock:101"])
case("npm-lock", [modify("web/package-lock.json", 40, ['    "node_modules/left-pad": {'], ['      "version": "1.3.1",'], ['      "license": "WTFPL"'])], ["lockfile web/package-lock.json:41"])
case("poetry-lock", [modify("poetry.lock", 12, ['name = "requests"'], ['version = "2.99.0"'], ['description = "HTTP for Humans."'])], ["lockfile poetry.lock:13"])
# Seeded: source changed without tests.
PY_FEATURE = ["def apply_discount(order, code):", "    rate = DISCOUNTS.get(code, 0)", "    if rate == 0:", "        return order.total", "    discounted = order.total * (1 - rate)", "    if discounted < 0:", "        raise ValueError('negative total')", "    order.total = round(discounted, 2)", "    order.discount_code = code", "    return order.total", "", "", "DISCOUNTS = {'WELCOME': 0.1, 'VIP': 0.2}"]
case("untested-python", [new_file("app/discounts.py", PY_FEATURE)], ["missing-tests app/discounts.py:1"])
GO_FEATURE = ["package limits", "", "import \"time\"", "", "type Window struct {", "\tsize  time.Duration", "\tlimit int", "\tseen  []time.Time", "}", "", "func (w *Window) Allow(now time.Time) bool {", "\tkeep := w.seen[:0]", "\tfor _, t := range w.seen {", "\t\tif now.Sub(t) < w.size {", "\t\t\tkeep = append(keep, t)", "\t\t}", "\t}", "\tw.seen = keep", "\treturn len(w.seen) < w.limit", "}"]
case("untested-go", [new_file("internal/limits/window.go", GO_FEATURE)], ["missing-tests internal/limits/window.go:1"])
TS_FEATURE = ["export interface Range { start: number; end: number }", "", "export function merge(ranges: Range[]): Range[] {", "  const sorted = [...ranges].sort((a, b) => a.start - b.start);", "  const merged: Range[] = [];", "  for (const range of sorted) {", "    const last = merged[merged.length - 1];", "    if (last && range.start <= last.end) {", "      last.end = Math.max(last.end, range.end);", "    } else {", "      merged.push({ ...range });", "    }", "  }", "  return merged;", "}"]
case("untested-ts", [new_file("web/src/ranges.ts", TS_FEATURE)], ["missing-tests web/src/ranges.ts:1"])

# Clean changes: a careful reviewer raises nothing here.
case("clean-rust-feature", [new_file("src/greeting.rs", ["/// Greets someone by name.", "pub fn greet(name: &str) -> String {", '    format!("Hello, {name}!")', "}", "", "/// Greets everyone.", "pub fn greet_all(names: &[&str]) -> Vec<String> {", "    names.iter().map(|name| greet(name)).collect()", "}", "", "/// The number of greetings.", "pub fn count(names: &[&str]) -> usize {", "    names.len()", "}"]), RUST_TEST], [])
case("clean-rust-errors", [modify("src/config.rs", 12, ["pub fn load(path: &Path) -> Result<Config, Error> {"], ["    let text = std::fs::read_to_string(path)?;", "    let config = toml::from_str(&text)?;", "    Ok(config)"], ["}"])], [])
case("clean-rust-test-module", [modify("src/math.rs", 20, ["#[cfg(test)]", "mod tests {", "    use super::*;"], ["", "    #[test]", "    fn divides() {", "        assert_eq!(divide(6, 3).unwrap(), 2);", '        assert!(divide(1, 0).is_err(), "no division by zero");', "    }"], ["}"])], [])
case("clean-todo-with-issue", [modify("src/cache.rs", 20, ["impl Cache {"], ["    // TODO(#412): evict entries older than the TTL"], ["    pub fn get(&self) {}"])], [])
case("clean-fixme-ticket", [modify("app/auth.py", 5, ["def login(user):"], ["    # FIXME(AUTH-231): remove once sessions expire server-side"], ["    return session_for(user)"])], [])
case("clean-parameterised-sql", [modify("app/repo.py", 14, ["def find(cursor, name):"], ['    cursor.execute("SELECT * FROM users WHERE name = %s", (name,))'], ["    return cursor.fetchone()"])], [])
case("clean-js-placeholders", [modify("server/db.js", 6, ["async function byEmail(email) {"], ["  return pool.query('SELECT id FROM accounts WHERE email = $1', [email]);"], ["}"])], [])
case("clean-rust-bind", [modify("src/store.rs", 30, ["    let id = request.id;"], ['    sqlx::query("DELETE FROM sessions WHERE id = $1").bind(id).execute(&pool).await?;'], ["    Ok(())"])], [])
case("clean-env-url", [modify("docker-compose.yml", 20, ["    environment:"], ["      DATABASE_URL: postgres://app:${DB_PASSWORD}@db:5432/app"], ["    ports:"])], [])
case("clean-redacted-url", [modify("docs/deploy.md", 8, ["Set the URL:"], ["", "    DATABASE_URL=postgres://nectr:***@db.internal:5432/nectr", ""], ["Then restart."])], [])
case("clean-console-in-test", [TS_TEST.replace("test('handler answers', () => {", "test('handler answers', () => {\n+  console.log('running');").replace("+1,5 @@", "+1,6 @@")], [])
case("clean-cli-print", [modify("scripts/report.py", 20, ["    for path in paths:", "        process(path)"], ['    print(f"Processed {len(paths)} files")'], [""])], [])
case("clean-log-message", [modify("app/ui.py", 3, ["def choose(options):"], ['    logger.info("Select an option from the list")'], ["    return options[0]"])], [])
case("clean-evaluate-name", [modify("app/model.py", 40, ["def score(model, batch):"], ["    model.eval()", "    return evaluate(model, batch)"], [""])], [])
case("clean-lock-with-manifest", [modify("Cargo.toml", 10, ["[dependencies]"], ['serde = "1.0.999"'], []), modify("Cargo.lock", 100, ['name = "serde"'], ['version = "1.0.999"'], [''])], [])
case("clean-npm-with-manifest", [modify("web/package.json", 12, ['  "dependencies": {'], ['    "left-pad": "1.3.1",'], ['    "react": "19.0.0"']), modify("web/package-lock.json", 40, ['    "node_modules/left-pad": {'], ['      "version": "1.3.1",'], ['      "license": "WTFPL"'])], [])
case("clean-docs", [modify("README.md", 1, ["# App"], ["", "## TODO list for contributors", "", "See the issues labelled `good first issue`."], [])], [])
case("clean-python-feature", [new_file("app/discounts.py", PY_FEATURE), PY_TEST], [])
case("clean-go-feature", [new_file("internal/limits/window.go", GO_FEATURE), new_file("internal/limits/window_test.go", ["package limits", "", "import (", "\t\"testing\"", "\t\"time\"", ")", "", "func TestAllow(t *testing.T) {", "\tw := &Window{size: time.Second, limit: 1}", "\tif !w.Allow(time.Now()) {", "\t\tt.Fatal(\"first call must pass\")", "\t}", "}"])], [])
case("clean-ts-feature", [new_file("web/src/ranges.ts", TS_FEATURE), new_file("web/src/ranges.test.ts", ["import { merge } from './ranges';", "", "test('merges overlaps', () => {", "  expect(merge([{ start: 1, end: 3 }, { start: 2, end: 5 }])).toEqual([{ start: 1, end: 5 }]);", "});"])], [])
case("clean-tls-config", [modify("internal/http/client.go", 12, ["\ttlsConfig := &tls.Config{"], ["\t\tMinVersion: tls.VersionTLS12,", "\t\tRootCAs:    pool,"], ["\t}"])], [])
case("clean-requests-ca", [modify("app/client.py", 9, ["def fetch(url):"], ["    return requests.get(url, verify='/etc/ssl/certs/internal-ca.pem', timeout=10)"], [""])], [])
case("clean-rust-exec", [modify("src/bin/shell.rs", 5, ["fn main() -> std::io::Result<()> {"], ['    let error = std::process::Command::new("sh").exec();', '    Err(error)'], ["}"])], [])
case("clean-deleted-file", ["diff --git a/old/debug.py b/old/debug.py\ndeleted file mode 100644\n--- a/old/debug.py\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-breakpoint()\n-print('DEBUG here')\n"], [])
case("clean-binary", ["diff --git a/web/logo.png b/web/logo.png\nnew file mode 100644\nBinary files /dev/null and b/web/logo.png differ\n"], [])
case("clean-small-fix", [modify("src/lib.rs", 40, ["pub fn clamp(value: i32) -> i32 {"], ["    value.clamp(0, 100)"], ["}"])], [])
case("clean-yaml-ci", [modify(".github/workflows/ci.yml", 10, ["    steps:"], ["      - uses: actions/checkout@v4", "      - run: cargo test --workspace"], ["      - run: cargo clippy"])], [])

for index, (name, diff, expect) in enumerate(cases, start=1):
    stem = f"{index:02}-{name}"
    with open(f"{stem}.diff", "w") as handle:
        handle.write(diff)
    with open(f"{stem}.expect", "w") as handle:
        handle.write("".join(line + "\n" for line in expect))
print(len(cases), "cases;", sum(1 for case in cases if not case[2]), "clean")
