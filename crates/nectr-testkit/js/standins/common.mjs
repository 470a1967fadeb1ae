// What the MCP stand-ins share: an HTTP server on a free port of 127.0.0.1 (its port printed
// on stdout as `{"port": N}`), bearer auth, the Streamable HTTP transport with sessions or the
// legacy HTTP+SSE transport (both from the official TypeScript SDK), a log of the JSON-RPC
// messages received (GET /log), an end to every session (POST /expire, so that the next
// request with an old Mcp-Session-Id gets 404), and the faults a test asks for.
//
// Environment:
//   STANDIN_TOKEN      the bearer token every request must carry (none: no auth)
//   STANDIN_TRANSPORT  `streamable` (POST/GET/DELETE /mcp) or `sse` (GET /sse, POST /messages)
//   STANDIN_HANG       `initialize`: never answer it; `call`: tools/call never returns
//   STANDIN_FAIL       `tool-error`: tools answer isError; `rpc-error`: JSON-RPC errors

import http from "node:http";
import { randomUUID } from "node:crypto";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { SSEServerTransport } from "@modelcontextprotocol/sdk/server/sse.js";
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  isInitializeRequest,
} from "@modelcontextprotocol/sdk/types.js";

const token = process.env.STANDIN_TOKEN ?? "";
const transportKind = process.env.STANDIN_TRANSPORT ?? "streamable";
const hang = process.env.STANDIN_HANG ?? "";
const fail = process.env.STANDIN_FAIL ?? "";

/** Every JSON-RPC message received: method, tool, arguments, authorization, session. */
const log = [];

const never = () => new Promise(() => {});

/**
 * An MCP server (the SDK's low-level `Server`) offering `tools`: each has a name, a
 * description, an input schema and `call(arguments)`, which answers a CallToolResult.
 */
function mcpServer(name, tools) {
  const server = new Server({ name, version: "1.0.0" }, { capabilities: { tools: {} } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: tools.map(({ name, description, inputSchema }) => ({ name, description, inputSchema })),
  }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const tool = tools.find((candidate) => candidate.name === request.params.name);
    if (!tool) {
      throw new McpError(ErrorCode.InvalidParams, `Tool ${request.params.name} not found`);
    }
    if (hang === "call") {
      await never();
    }
    if (fail === "rpc-error") {
      throw new McpError(ErrorCode.InternalError, `${name} upstream API unavailable`);
    }
    if (fail === "tool-error") {
      return { isError: true, content: [{ type: "text", text: `${name} API error: rate limit exceeded` }] };
    }
    return tool.call(request.params.arguments ?? {});
  });
  return server;
}

async function readJson(request) {
  const chunks = [];
  for await (const chunk of request) {
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  return text ? JSON.parse(text) : undefined;
}

function record(request, body) {
  for (const message of Array.isArray(body) ? body : [body]) {
    if (message && typeof message === "object" && "method" in message) {
      log.push({
        method: message.method,
        tool: message.params?.name ?? null,
        arguments: message.params?.arguments ?? null,
        protocolVersion: message.params?.protocolVersion ?? null,
        clientName: message.params?.clientInfo?.name ?? null,
        authorization: request.headers.authorization ?? null,
        session: request.headers["mcp-session-id"] ?? null,
      });
    }
  }
}

function answer(response, status, body) {
  response.writeHead(status, { "Content-Type": "application/json" });
  response.end(JSON.stringify(body));
}

function rpcError(response, status, message) {
  answer(response, status, { jsonrpc: "2.0", error: { code: -32000, message }, id: null });
}

/** Serves `tools` as the MCP server `name` until the process is killed. */
export function serve(name, tools) {
  const sessions = new Map();
  const http_server = http.createServer(async (request, response) => {
    try {
      const url = new URL(request.url, "http://127.0.0.1");
      if (url.pathname === "/log") {
        return answer(response, 200, log);
      }
      if (url.pathname === "/expire" && request.method === "POST") {
        const count = sessions.size;
        sessions.clear();
        return answer(response, 200, { expired: count });
      }
      if (token && request.headers.authorization !== `Bearer ${token}`) {
        response.writeHead(401, { "WWW-Authenticate": `Bearer realm="${name}"` });
        return response.end("missing or wrong bearer token");
      }
      if (transportKind === "sse") {
        return await legacy(name, tools, sessions, url, request, response);
      }
      return await streamable(name, tools, sessions, url, request, response);
    } catch (error) {
      console.error(error);
      if (!response.headersSent) {
        rpcError(response, 500, String(error));
      }
    }
  });
  http_server.listen(0, "127.0.0.1", () => {
    console.log(JSON.stringify({ port: http_server.address().port }));
  });
}

async function streamable(name, tools, sessions, url, request, response) {
  if (url.pathname !== "/mcp") {
    return rpcError(response, 404, `no MCP endpoint at ${url.pathname}`);
  }
  const body = request.method === "POST" ? await readJson(request) : undefined;
  record(request, body);
  const sessionId = request.headers["mcp-session-id"];
  if (sessionId) {
    const transport = sessions.get(sessionId);
    if (!transport) {
      return rpcError(response, 404, "Session not found");
    }
    return transport.handleRequest(request, response, body);
  }
  if (request.method === "POST" && isInitializeRequest(body)) {
    if (hang === "initialize") {
      return never();
    }
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => sessions.set(id, transport),
    });
    await mcpServer(name, tools).connect(transport);
    return transport.handleRequest(request, response, body);
  }
  return rpcError(response, 400, "Bad Request: No valid session ID provided");
}

async function legacy(name, tools, sessions, url, request, response) {
  if (url.pathname === "/sse" && request.method === "GET") {
    if (hang === "initialize") {
      return never();
    }
    const transport = new SSEServerTransport("/messages", response);
    sessions.set(transport.sessionId, transport);
    transport.onclose = () => sessions.delete(transport.sessionId);
    return mcpServer(name, tools).connect(transport);
  }
  if (url.pathname === "/messages" && request.method === "POST") {
    const transport = sessions.get(url.searchParams.get("sessionId"));
    const body = await readJson(request);
    record(request, body);
    if (!transport) {
      return rpcError(response, 404, "Session not found");
    }
    return transport.handlePostMessage(request, response, body);
  }
  // A POST to the stream's URL (a Streamable HTTP client's first try) is not this transport.
  response.writeHead(405, { "Content-Type": "text/plain", Allow: "GET" });
  return response.end("Method Not Allowed");
}

/** A text result holding `value` as JSON, as Linear's server answers. */
export function json(value) {
  return { content: [{ type: "text", text: JSON.stringify(value, null, 2) }] };
}

/** A text result. */
export function text(value) {
  return { content: [{ type: "text", text: value }] };
}
