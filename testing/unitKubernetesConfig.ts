/** Shared helpers of the Kubernetes unit tests. */
import * as path from "path";
import { parseStackConfig } from "../config/parse";
import { StackConfig } from "../config/types";
import { readStackFile } from "./stackFile";

export const ROOT = path.join(__dirname, "..");

/** The k8s stack's config, parsed exactly as the program parses it. */
export function k8sStackConfig(): StackConfig {
    const { values } = readStackFile(path.join(ROOT, "Pulumi.k8s.yaml"));
    const { config, issues } = parseStackConfig(values, { stack: "k8s", platform: "linux" });
    if (issues.length > 0) throw new Error(`Pulumi.k8s.yaml has problems: ${JSON.stringify(issues)}`);
    return config;
}

/** A deep copy of the k8s stack's config with changes applied. */
export function withConfig(change: (cfg: StackConfig) => void): StackConfig {
    const cfg = k8sStackConfig();
    change(cfg);
    return cfg;
}

const IPV4 = /(?<![\w.])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\w.])/g;
const HEX = "[0-9a-fA-F]{1,4}";
const IPV6_FULL = new RegExp(`(?<![\\w:])${HEX}(?::${HEX}){2,7}(?![\\w:])`, "g");
const IPV6_COMPRESSED = new RegExp(`(?<![\\w:])(?:${HEX}(?::${HEX})*)?::(?:${HEX}(?::${HEX})*)?(?![\\w:])`, "g");

/** Every IPv4/IPv6 literal in a string (`::` and `::1` included). */
export function ipLiterals(text: string): string[] {
    return [IPV4, IPV6_FULL, IPV6_COMPRESSED].flatMap((re) => [...text.matchAll(re)].map((m) => m[0]));
}

/** Every string anywhere inside a value (object keys included), with its path. */
export function allStrings(value: unknown, at = "$"): { path: string; text: string }[] {
    if (typeof value === "string") return [{ path: at, text: value }];
    if (Array.isArray(value)) return value.flatMap((v, i) => allStrings(v, `${at}[${i}]`));
    if (typeof value === "object" && value !== null) {
        return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => [{ path: `${at}.<key>`, text: k }, ...allStrings(v, `${at}.${k}`)]);
    }
    return [];
}

/** Every IP literal found anywhere inside a value, with where it was found. */
export function findIpLiterals(value: unknown): { path: string; ip: string }[] {
    return allStrings(value).flatMap(({ path: p, text }) => ipLiterals(text).map((ip) => ({ path: p, ip })));
}

/** Expands `$(VAR)` references the way the kubelet does for env values. */
export function expandEnv(value: string, vars: Record<string, string>): string {
    return value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => vars[name] ?? whole);
}
