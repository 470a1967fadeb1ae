// Drives Nectr's MCP server with the official MCP TypeScript SDK client, for the Rust tests.
//
//   node mcp-client.mjs <base-url> <api-key or -> <streamable|sse> [plan-json]
//
// Connects over Streamable HTTP (<base-url>/mcp) or the legacy HTTP+SSE transport
// (<base-url>/mcp/sse) with `Authorization: Bearer <api-key>` (none for `-`), lists the tools,
// resources and resource templates, runs the plan's steps in order ({"call": tool, "arguments":
// {...}} or {"read": uri}), each answer or error recorded, and prints one JSON document of what it
// saw. A refused connection is an answer too ({"connected": false, "error": ...}); only a failure
// of this script itself exits non-zero.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [base, key, kind, planText] = process.argv.slice(2);
if (!base || !key || !['streamable', 'sse'].includes(kind)) {
  console.error('usage: node mcp-client.mjs <base-url> <api-key or -> <streamable|sse> [plan-json]');
  process.exit(2);
}
const plan = planText ? JSON.parse(planText) : [];

/** What an error says, whatever threw it (an McpError, a transport's HTTP error, …). */
function describe(error) {
  return {
    name: error?.constructor?.name ?? typeof error,
    code: error?.code ?? null,
    message: String(error?.message ?? error),
    data: error?.data ?? null,
  };
}

const requestInit = key === '-' ? {} : { headers: { Authorization: `Bearer ${key}` } };
const transport =
  kind === 'sse'
    ? new SSEClientTransport(new URL('/mcp/sse', base), { requestInit })
    : new StreamableHTTPClientTransport(new URL('/mcp', base), { requestInit });
const client = new Client({ name: 'nectr-test-client', version: '1.0.0' });

const report = { transport: kind, connected: false };
try {
  await client.connect(transport);
} catch (error) {
  report.error = describe(error);
  console.log(JSON.stringify(report));
  process.exit(0);
}
report.connected = true;
report.session = transport.sessionId ?? null;
report.server = client.getServerVersion() ?? null;
report.instructions = client.getInstructions() ?? null;
report.capabilities = client.getServerCapabilities() ?? null;

const tools = await client.listTools();
report.tools = tools.tools;
const resources = await client.listResources();
report.resources = resources.resources;
const templates = await client.listResourceTemplates();
report.templates = templates.resourceTemplates;

report.steps = [];
for (const step of plan) {
  try {
    const answer =
      'read' in step
        ? await client.readResource({ uri: step.read })
        : await client.callTool({ name: step.call, arguments: step.arguments ?? {} });
    report.steps.push({ step, ok: answer });
  } catch (error) {
    report.steps.push({ step, error: describe(error) });
  }
}

// The session still answers after every step, errors included.
try {
  await client.ping();
  report.alive_after_steps = true;
} catch (error) {
  report.alive_after_steps = false;
  report.ping_error = describe(error);
}

if (kind === 'streamable') {
  try {
    await transport.terminateSession();
    report.terminated = true;
  } catch (error) {
    report.terminated = describe(error);
  }
}
await client.close();
console.log(JSON.stringify(report));
process.exit(0);
