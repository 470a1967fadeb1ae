// A stand-in for a Slack MCP server: the reference server's reading tools
// (slack_list_channels, slack_get_channel_history) and a message search
// (slack_search_messages {query, count}) answering the JSON of Slack's search.messages API,
// over the messages below. Started by Nectr's tests with `node standins/slack.mjs`; see
// common.mjs for the environment it reads.

import { json, serve } from "./common.mjs";

const messages = [
  {
    channel: { id: "C01", name: "backend" },
    username: "alice",
    text: "Heads up: https://github.com/acme/app/pull/7 changes the login redirect, ENG-123 is the ticket",
    ts: "1764495600.000100",
    permalink: "https://acme.slack.com/archives/C01/p1764495600000100",
  },
  {
    channel: { id: "C02", name: "support" },
    username: "bob",
    text: "Customers keep hitting ENG-123 after the weekend deploy",
    ts: "1764499200.000200",
    permalink: "https://acme.slack.com/archives/C02/p1764499200000200",
  },
  {
    channel: { id: "C01", name: "backend" },
    username: "carol",
    text: "Lunch?",
    ts: "1764502800.000300",
    permalink: "https://acme.slack.com/archives/C01/p1764502800000300",
  },
];

serve("slack", [
  {
    name: "slack_list_channels",
    description: "List public channels in the workspace",
    inputSchema: { type: "object", properties: { limit: { type: "number", default: 100 } } },
    call: () => json({ ok: true, channels: [{ id: "C01", name: "backend" }, { id: "C02", name: "support" }] }),
  },
  {
    name: "slack_get_channel_history",
    description: "Get recent messages from a channel",
    inputSchema: {
      type: "object",
      properties: { channel_id: { type: "string" }, limit: { type: "number", default: 10 } },
      required: ["channel_id"],
    },
    call: ({ channel_id }) =>
      json({ ok: true, messages: messages.filter((message) => message.channel.id === channel_id) }),
  },
  {
    name: "slack_search_messages",
    description: "Search messages in the workspace",
    inputSchema: {
      type: "object",
      properties: {
        query: { type: "string", description: "Search query" },
        count: { type: "number", default: 20 },
      },
      required: ["query"],
    },
    call: ({ query, count = 20 }) => {
      const matches = messages.filter((message) => message.text.includes(query)).slice(0, count);
      return json({ ok: true, query, messages: { total: matches.length, matches } });
    },
  },
]);
