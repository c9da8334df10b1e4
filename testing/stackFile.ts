import * as fs from "fs";
import * as yaml from "js-yaml";

/** Reads a stack file's `tile38-ha:` values; `secure:` values become secret placeholders. */
export function readStackFile(file: string): { values: Record<string, unknown>; secretKeys: string[] } {
    const doc = (yaml.load(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    const values: Record<string, unknown> = {};
    const secretKeys: string[] = [];
    for (const [fullKey, v] of Object.entries(doc.config ?? {})) {
        if (!fullKey.startsWith("tile38-ha:")) continue;
        const key = fullKey.slice("tile38-ha:".length);
        if (typeof v === "object" && v !== null && "secure" in v) {
            secretKeys.push(key);
            values[key] = `synth-placeholder-for-${key}`;
        } else {
            values[key] = typeof v === "number" || typeof v === "boolean" ? String(v) : v;
        }
    }
    return { values, secretKeys };
}
