// Node-RED settings for `watchpost bench --only telemetry` (the peer the hub is compared with).
// Loopback only, no editor, no telemetry; ports and database come from the environment the
// bench sets (simulators/bench_nodered.py).
module.exports = {
    uiHost: "127.0.0.1",
    uiPort: parseInt(process.env.NODE_RED_PORT || "1880", 10),
    flowFile: "flow.json",
    credentialSecret: false,
    httpAdminRoot: "/admin",
    httpNodeRoot: false,
    disableEditor: true,
    telemetry: { enabled: false, updateNotification: false },
    diagnostics: { enabled: false, ui: false },
    runtimeState: { enabled: false, ui: false },
    logging: { console: { level: "info", metrics: false, audit: false } },
    editorTheme: { projects: { enabled: false } },
    externalModules: { autoInstall: false, palette: { allowInstall: false } },
};
