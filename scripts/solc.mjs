// The npm solc-js compiler behind native solc's command line: --version, --standard-json (stdin ->
// stdout), --base-path, --include-path, --allow-paths. That is all Foundry and py-solc-x call.
import { createRequire } from "node:module";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

const require = createRequire(import.meta.url);
const solc = require("solc");

function parseArgs(argv) {
    const opts = { basePath: process.cwd(), includePaths: [], allowPaths: [], standardJson: false, version: false };
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const [flag, inline] = arg.includes("=") ? arg.split(/=(.*)/s) : [arg, undefined];
        const value = () => (inline !== undefined ? inline : argv[++i]);
        if (flag === "--version") opts.version = true;
        else if (flag === "--standard-json") opts.standardJson = true;
        else if (flag === "--base-path") opts.basePath = value();
        else if (flag === "--include-path") opts.includePaths.push(value());
        else if (flag === "--allow-paths") opts.allowPaths.push(...value().split(","));
        else if (flag === "-" || flag === "--no-color" || flag === "--pretty-json") continue;
        else fail(`unsupported option ${arg} (this wrapper speaks only what Foundry and py-solc-x use)`);
    }
    return opts;
}

function fail(message) {
    process.stderr.write(`solc wrapper: ${message}\n`);
    process.exit(1);
}

/** Resolves an import the way native solc does: the path itself, then under base and include paths. */
function importResolver(opts) {
    const roots = [opts.basePath, ...opts.includePaths].map((p) => path.resolve(p));
    return (importPath) => {
        const candidates = path.isAbsolute(importPath) ? [importPath] : roots.map((r) => path.join(r, importPath));
        for (const file of candidates) {
            if (existsSync(file)) return { contents: readFileSync(file, "utf8") };
        }
        return { error: `File not found: ${importPath} (searched ${roots.join(", ")})` };
    };
}

const opts = parseArgs(process.argv.slice(2));
if (opts.version) {
    process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
} else if (opts.standardJson) {
    const input = readFileSync(0, "utf8");
    process.stdout.write(solc.compile(input, { import: importResolver(opts) }));
} else {
    fail("expected --version or --standard-json");
}
