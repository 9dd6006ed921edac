/**
 * The agent channel: how agents on hosts talk to the controller (docs/channel.md). The server
 * (mutual TLS on 127.0.0.1), the reverse SSH tunnel that brings hosts to it, and the
 * `graft-agent` helper agents call.
 */
export { startChannel, type ChannelServer, type ChannelHandlers, type StartChannelOptions } from './channel-server.js';
export { openChannelTunnel, channelUrl, type ChannelTunnel } from './tunnel.js';
export { installAgentHelper, writeChannelUrl, channelUrlFile } from './agent-helper.js';
export { maxRequestBytes } from './http-exchange.js';
