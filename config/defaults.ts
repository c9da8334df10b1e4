/**
 * The defaults of a stack, read off the one description (config/schema.ts): each field's
 * `default`, a value or computed from where and under which names the cluster is deployed.
 */
import { Default, DefaultContext, Field } from "./field";
import { SECTION_FIELDS, TOP_LEVEL_FIELDS } from "./schema";
import { StackConfig, Target } from "./types";

export { DEFAULT_IMAGES } from "./images";
export { hostOsFromPlatform } from "./platform";

/** A default's value in `ctx`; a fresh copy, so that no two configs share a map or a list. */
function resolve(value: Default<unknown>, ctx: DefaultContext): unknown {
    return typeof value === "function" ? (value as (ctx: DefaultContext) => unknown)(ctx) : structuredClone(value);
}

/** The defaults of the fields that have one (the others stay unset). */
function defaultsOf(fields: Record<string, Field>, ctx: DefaultContext): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, field] of Object.entries(fields)) {
        if (field.default !== undefined) out[name] = resolve(field.default, ctx);
    }
    return out;
}

/**
 * The complete defaults for a stack. `stack` names volumes, containers and the bucket;
 * `platform` is where `pulumi` runs (the Docker host unless `docker.hostOs` says otherwise).
 * A component created in a program (`component`: its name) names them after itself instead, and
 * prefixes its Kubernetes objects, so that two clusters share a stack or a namespace.
 */
export function defaultConfig(stack: string, target: Target, platform: string, component?: string): StackConfig {
    const ctx: DefaultContext = { stack, target, platform, component, name: component ?? `tile38-ha-${stack}` };
    const sections = Object.fromEntries(Object.entries(SECTION_FIELDS).map(([section, fields]) => [section, defaultsOf(fields, ctx)]));
    // The description's inferred type is StackConfig (config/inferredTypes.ts); the loops above cannot carry it.
    return { target, ...defaultsOf(TOP_LEVEL_FIELDS, ctx), ...sections } as unknown as StackConfig;
}
