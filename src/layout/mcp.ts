// The names of ga's MCP server and its tools: served by ga mcp, allowed by
// the claude adapter (as mcp__ga__<tool>). One spelling for both.
export const MCP_SERVER = 'ga';
export const MCP_TOOLS = ['propose', 'list', 'show', 'status'] as const;
