import { defaultConfig } from "./defaults";
import { FieldKind, SECRET_KEYS, SecretKey, SECTION_FIELDS, SectionName, TOP_LEVEL_FIELDS } from "./schema";
import { StackConfig, Target } from "./types";
import { ConfigIssue, validateConfig } from "./validate";

export const NAMESPACE = "tile38-ha";

/** Raw stack values as Pulumi hands them over: strings, or already-parsed YAML objects. */
export type RawStackValues = Record<string, unknown>;

/** Where the program runs: the stack's name and the OS of the machine that runs `pulumi`. */
export interface ParseContext {
    stack: string;
    platform: string;
    /** The component's name, when the values are a component's arguments: it names the defaults (see `defaultConfig`). */
    component?: string;
}

/** The parsed config and every problem found (empty when the config is usable). */
export interface ParseResult {
    config: StackConfig;
    issues: ConfigIssue[];
}

function coerce(value: unknown, kind: FieldKind, key: string, issues: ConfigIssue[]): unknown {
    const bad = (fix: string) => {
        issues.push({ key, message: `invalid value ${JSON.stringify(value)}`, fix });
        return undefined;
    };
    switch (kind.kind) {
        case "int": {
            const n = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
            return Number.isInteger(n) ? n : bad("use a whole number");
        }
        case "string":
            return typeof value === "string" ? value : bad("use a string");
        case "bool":
            if (value === true || value === "true") return true;
            if (value === false || value === "false") return false;
            return bad('use true or false');
        case "enum":
            return typeof value === "string" && kind.values.includes(value) ? value : bad(`use one of: ${kind.values.join(", ")}`);
        case "intArray":
            if (!Array.isArray(value)) return bad("use a list of whole numbers, e.g. [9851, 9852, 9853]");
            return value.map((v, i) => coerce(v, { kind: "int" }, `${key}[${i}]`, issues));
        case "stringMap":
            if (typeof value !== "object" || value === null || Array.isArray(value)) return bad("use a map of strings");
            for (const [k, v] of Object.entries(value)) {
                if (typeof v !== "string") issues.push({ key: `${key}.${k}`, message: `invalid value ${JSON.stringify(v)}`, fix: "use a string" });
            }
            return value;
        case "stringArray":
            if (!Array.isArray(value)) return bad('use a list of strings, e.g. ["regcred"]');
            return value.map((v, i) => coerce(v, { kind: "string" }, `${key}[${i}]`, issues));
        case "object":
            return isMap(value) ? value : bad("use a map (a Kubernetes object)");
        case "objectArray":
            if (!Array.isArray(value)) return bad("use a list of maps (Kubernetes objects)");
            value.forEach((v, i) => {
                if (!isMap(v)) issues.push({ key: `${key}[${i}]`, message: `invalid value ${JSON.stringify(v)}`, fix: "use a map (a Kubernetes object)" });
            });
            return value;
        case "resources": {
            const ok = (part: unknown) =>
                typeof part === "object" && part !== null && typeof (part as Record<string, unknown>).cpu === "string" && typeof (part as Record<string, unknown>).memory === "string";
            const r = value as Record<string, unknown> | null;
            return r && ok(r.requests) && ok(r.limits) ? value : bad('use { requests: { cpu, memory }, limits: { cpu, memory } } with string quantities');
        }
    }
}

function isMap(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Stack values may arrive as JSON text (Pulumi's runtime) or as objects (tests). */
function asObject(value: unknown, key: string, issues: ConfigIssue[]): Record<string, unknown> | undefined {
    let v = value;
    if (typeof v === "string") {
        try {
            v = JSON.parse(v);
        } catch {
            issues.push({ key, message: "is not valid JSON/YAML object", fix: "write it as a YAML map in the stack file" });
            return undefined;
        }
    }
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
        issues.push({ key, message: "must be a map", fix: "write it as a YAML map in the stack file" });
        return undefined;
    }
    return v as Record<string, unknown>;
}

/**
 * Turns raw stack values (keys without the `tile38-ha:` prefix) into a complete, validated
 * {@link StackConfig}. Pure: every problem is collected, none is thrown.
 */
export function parseStackConfig(raw: RawStackValues, ctx: ParseContext): ParseResult {
    const issues: ConfigIssue[] = [];
    const known = new Set<string>([...Object.keys(TOP_LEVEL_FIELDS), ...Object.keys(SECTION_FIELDS), ...SECRET_KEYS]);
    for (const key of Object.keys(raw)) {
        if (!known.has(key)) {
            issues.push({ key: `${NAMESPACE}:${key}`, message: "is not a known key", fix: `remove it or use one of: ${[...known].join(", ")}` });
        }
    }

    const rawTarget = raw.target;
    let target: Target = "docker";
    if (rawTarget === undefined) {
        issues.push({ key: `${NAMESPACE}:target`, message: "is required", fix: "set it to docker or kubernetes" });
    } else {
        const t = coerce(rawTarget, TOP_LEVEL_FIELDS.target, `${NAMESPACE}:target`, issues);
        if (t !== undefined) target = t as Target;
    }

    const config = defaultConfig(ctx.stack, target, ctx.platform, ctx.component) as unknown as Record<string, unknown>;
    for (const [field, kind] of Object.entries(TOP_LEVEL_FIELDS)) {
        if (field === "target" || raw[field] === undefined) continue;
        const v = coerce(raw[field], kind, `${NAMESPACE}:${field}`, issues);
        if (v !== undefined) config[field] = v;
    }
    for (const section of Object.keys(SECTION_FIELDS) as SectionName[]) {
        if (raw[section] === undefined) continue;
        const key = `${NAMESPACE}:${section}`;
        const obj = asObject(raw[section], key, issues);
        if (!obj) continue;
        const fields: Record<string, FieldKind> = SECTION_FIELDS[section];
        const target = config[section] as Record<string, unknown>;
        for (const [field, value] of Object.entries(obj)) {
            const kind = fields[field];
            if (!kind) {
                issues.push({ key: `${key}.${field}`, message: "is not a known field", fix: `use one of: ${Object.keys(fields).join(", ")}` });
                continue;
            }
            if (value === null || value === undefined) continue;
            const v = coerce(value, kind, `${key}.${field}`, issues);
            if (v !== undefined) target[field] = v;
        }
        // The bind address follows the advertised one unless set explicitly.
        if (section === "docker" && obj.advertiseHost !== undefined && obj.bindAddress === undefined) {
            target.bindAddress = target.advertiseHost;
        }
    }

    const typed = config as unknown as StackConfig;
    const secretsSet = new Set<SecretKey>(SECRET_KEYS.filter((k) => raw[k] !== undefined));
    issues.push(...validateConfig(typed, secretsSet));
    return { config: typed, issues };
}
