// A stand-in for Linear's MCP server (https://mcp.linear.app/mcp): a few of its tools under
// their names and input schemas (get_issue {id}, list_issues {query, limit, ...}, list_teams,
// create_comment), answering JSON text as Linear's server does, over the tickets below.
// Started by Nectr's tests with `node standins/linear.mjs`; see common.mjs for the
// environment it reads.

import { json, serve, text } from "./common.mjs";

const issues = [
  {
    id: "8d3c2f9e-4b1a-4c6e-9a51-0f6e2b7d1c42",
    identifier: "ENG-123",
    title: "Login redirect loops for signed-in users",
    description:
      "Signed-in users who open /login are sent back to /login forever.\n\n" +
      "## Acceptance criteria\n" +
      "- [ ] A signed-in user opening /login lands on the dashboard\n" +
      "- [ ] The `next` parameter is honoured only for same-site paths\n\n" +
      "## Notes\nReported by support.",
    status: "In Progress",
    priority: { value: 2, name: "High" },
    assignee: "Alice Example",
    team: "Engineering",
    labels: ["bug", "auth"],
    url: "https://linear.app/acme/issue/ENG-123/login-redirect-loops-for-signed-in-users",
    gitBranchName: "alice/eng-123-login-redirect-loops",
    createdAt: "2026-11-20T09:12:00.000Z",
    updatedAt: "2026-11-29T16:40:00.000Z",
  },
  {
    id: "1f0a6b8c-77de-4f0e-8d2b-5c3a9e6f4b10",
    identifier: "ENG-124",
    title: "Session cookie is not marked Secure behind the proxy",
    description: "Behind the TLS-terminating proxy the session cookie lacks `Secure`.",
    status: "Todo",
    priority: { value: 3, name: "Medium" },
    assignee: null,
    team: "Engineering",
    labels: ["security"],
    url: "https://linear.app/acme/issue/ENG-124/session-cookie-is-not-marked-secure",
    gitBranchName: "eng-124-session-cookie-secure",
    createdAt: "2026-11-21T10:00:00.000Z",
    updatedAt: "2026-11-21T10:00:00.000Z",
  },
];

serve("linear", [
  {
    name: "list_teams",
    description: "List teams in the user's Linear workspace",
    inputSchema: {
      type: "object",
      properties: { query: { type: "string" }, limit: { type: "number", maximum: 250 } },
    },
    call: () => json([{ id: "team-eng", name: "Engineering", key: "ENG" }]),
  },
  {
    name: "list_issues",
    description: "List issues in the user's Linear workspace, optionally matching a text query",
    inputSchema: {
      type: "object",
      properties: {
        query: { type: "string", description: "An optional search query" },
        team: { type: "string", description: "The team name or ID" },
        state: { type: "string", description: "The state name or ID" },
        assignee: { type: "string" },
        limit: { type: "number", maximum: 250, default: 50 },
      },
    },
    call: ({ query = "", limit = 50 }) => {
      const words = query.toLowerCase().split(/\s+/).filter(Boolean);
      const found = issues.filter((issue) =>
        words.every((word) => `${issue.title} ${issue.description}`.toLowerCase().includes(word)),
      );
      return json(found.slice(0, limit));
    },
  },
  {
    name: "get_issue",
    description: "Retrieve detailed information about an issue by ID or identifier (e.g. ENG-123)",
    inputSchema: {
      type: "object",
      properties: { id: { type: "string", description: "The issue ID or identifier" } },
      required: ["id"],
    },
    call: ({ id }) => {
      const issue = issues.find((candidate) => candidate.id === id || candidate.identifier === id);
      if (!issue) {
        return { isError: true, content: [{ type: "text", text: `Issue ${id} not found` }] };
      }
      return json(issue);
    },
  },
  {
    name: "create_comment",
    description: "Create a comment on a specific Linear issue",
    inputSchema: {
      type: "object",
      properties: { issueId: { type: "string" }, body: { type: "string" } },
      required: ["issueId", "body"],
    },
    call: () => text("Nectr never writes: this tool must not be called"),
  },
]);
