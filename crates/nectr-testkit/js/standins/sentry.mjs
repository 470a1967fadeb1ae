// A stand-in for Sentry's MCP server: some of its tools under their names and input schemas
// (whoami, find_organizations, find_projects, find_errors {organizationSlug, projectSlug,
// filename, query, sortBy}, get_issue_details), answering markdown as Sentry's server does,
// over the errors below. Started by Nectr's tests with `node standins/sentry.mjs`, usually
// over the legacy SSE transport (STANDIN_TRANSPORT=sse); see common.mjs for the environment.

import { serve, text } from "./common.mjs";

const errors = [
  {
    shortId: "BACKEND-4F2",
    title: "KeyError: 'next'",
    culprit: "app.login.redirect_after_login",
    count: 1204,
    firstSeen: "2026-11-02T08:00:00Z",
    lastSeen: "2026-11-30T10:00:00Z",
    url: "https://acme.sentry.io/issues/4042/",
    project: "app",
    frames: ["app/login.py", "app/middleware.py"],
  },
  {
    shortId: "BACKEND-51A",
    title: "TimeoutError: upstream took longer than 30s",
    culprit: "app.billing.charge",
    count: 17,
    firstSeen: "2026-11-28T12:00:00Z",
    lastSeen: "2026-11-29T23:59:00Z",
    url: "https://acme.sentry.io/issues/4107/",
    project: "app",
    frames: ["app/billing.py"],
  },
];

function markdown(organization, found) {
  if (found.length === 0) {
    return `# Errors in **${organization}**\n\nNo errors found matching the search criteria.`;
  }
  const sections = found.map(
    (error) =>
      `## ${error.shortId}\n\n` +
      `**Description**: ${error.title}\n` +
      `**Culprit**: ${error.culprit}\n` +
      `**Issue ID**: ${error.shortId}\n` +
      `**URL**: ${error.url}\n` +
      `**Project**: ${error.project}\n` +
      `**First Seen**: ${error.firstSeen}\n` +
      `**Last Seen**: ${error.lastSeen}\n` +
      `**Occurrences**: ${error.count}\n`,
  );
  return `# Errors in **${organization}**\n\n${sections.join("\n")}`;
}

const organization = { type: "string", description: "The organization's slug." };

serve("sentry", [
  {
    name: "whoami",
    description: "Identify the authenticated user in Sentry.",
    inputSchema: { type: "object", properties: {} },
    call: () => text("You are authenticated as Nectr Bot (bot@acme.example)."),
  },
  {
    name: "find_organizations",
    description: "Find organizations that the user has access to in Sentry.",
    inputSchema: { type: "object", properties: {} },
    call: () => text("# Organizations\n\n## **acme**\n"),
  },
  {
    name: "find_projects",
    description: "Find projects in Sentry.",
    inputSchema: {
      type: "object",
      properties: { organizationSlug: organization },
      required: ["organizationSlug"],
    },
    call: () => text("# Projects in **acme**\n\n- **app**\n"),
  },
  {
    name: "find_errors",
    description:
      "Find errors in Sentry, for example the most recent errors in a file (`filename`) or a " +
      "transaction.",
    inputSchema: {
      type: "object",
      properties: {
        organizationSlug: organization,
        projectSlug: { type: "string", description: "The project's slug." },
        filename: { type: "string", description: "The filename to search for errors in." },
        transaction: { type: "string" },
        query: { type: "string", description: "A Sentry search query." },
        sortBy: { type: "string", enum: ["last_seen", "count"], default: "last_seen" },
      },
      required: ["organizationSlug"],
    },
    call: ({ organizationSlug, projectSlug, filename }) => {
      const found = errors.filter(
        (error) =>
          (!projectSlug || error.project === projectSlug) &&
          (!filename || error.frames.some((frame) => frame.endsWith(filename))),
      );
      return text(markdown(organizationSlug, found));
    },
  },
  {
    name: "get_issue_details",
    description: "Retrieve the details of an issue in Sentry.",
    inputSchema: {
      type: "object",
      properties: { organizationSlug: organization, issueId: { type: "string" } },
      required: ["organizationSlug", "issueId"],
    },
    call: ({ organizationSlug, issueId }) =>
      text(markdown(organizationSlug, errors.filter((error) => error.shortId === issueId))),
  },
]);
