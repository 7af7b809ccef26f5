//! The MCP client against real servers: the reference server `server-everything` from npm
//! (pinned, installed by the test helper) and the workspace's misbehaving test server.

mod everything;
mod failures;
mod http;
mod names;
mod support;
