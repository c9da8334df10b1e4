/**
 * The vocabulary of the config's one description (config/schema.ts): what a field is (its kind,
 * doc, default, unit, checks) and the builders that declare one. Each builder also records the
 * field's TypeScript type, so that the settings types can be inferred from the description
 * (config/inferredTypes.ts) and the published interfaces checked against it.
 */
import type { Target } from "./types";

/** A field's kind: how the parser coerces and checks a raw stack value. Enums list their allowed values. */
export type FieldKind =
    | { kind: "int" }
    | { kind: "string" }
    | { kind: "bool" }
    | { kind: "intArray" }
    | { kind: "stringMap" }
    | { kind: "resources" }
    | { kind: "stringArray" }
    | { kind: "object" }
    | { kind: "objectArray" }
    | { kind: "enum"; values: readonly string[] };

/** What a default may depend on: where and under which names the cluster is deployed. */
export interface DefaultContext {
    stack: string;
    target: Target;
    /** `process.platform` of the machine that runs `pulumi`. */
    platform: string;
    /** The component's name, for a component created in a program. */
    component?: string;
    /** What containers, volumes and the bucket are named after: the component, or `tile38-ha-<stack>`. */
    name: string;
}

/** A default: a value, or one computed from the context (then described by `defaultText`). */
export type Default<T> = T | ((ctx: DefaultContext) => T);

/** The unit of a number, stated in the reference and the TSDoc. */
export type Unit = "milliseconds" | "seconds" | "days" | "megabytes (MiB)";

/** What a field's declaration says besides its kind. */
export interface FieldSpec<T> {
    /** What the field means, one paragraph (the reference's text and the interface's TSDoc). */
    doc: string;
    /** Filled in by `defaultConfig`; a field without one is optional (unset unless given). */
    default?: Default<T>;
    /** How the reference shows the default when it is computed, or what "unset" means. */
    defaultText?: string;
    /** Required although it has no default (`target`: the parser demands it). */
    required?: true;
    unit?: Unit;
    /** Checked by `validateConfig`: must be above 0. */
    positive?: true;
    /** The TypeScript type as the generated interface writes it, when the kind alone does not say it. */
    tsType?: string;
}

declare const TYPE: unique symbol;
/** Carries the field's TypeScript type at the type level only (no runtime value). */
export interface Typed<T> {
    readonly [TYPE]?: T;
}

/** One field of the description: its kind, its spec, and its TypeScript type. */
export type Field<T = unknown> = FieldKind & FieldSpec<T> & Typed<T>;

/** A builder for fields of one kind whose TypeScript type is `T`. */
const typed =
    <T, K extends Exclude<FieldKind["kind"], "enum">>(kind: K) =>
    <S extends FieldSpec<T>>(spec: S) =>
        ({ kind, ...spec }) as { kind: K } & S & Typed<T>;

export const int = typed<number, "int">("int");
export const str = typed<string, "string">("string");
export const bool = typed<boolean, "bool">("bool");
export const intArray = typed<number[], "intArray">("intArray");
export const stringArray = typed<string[], "stringArray">("stringArray");
export const stringMap = typed<Record<string, string>, "stringMap">("stringMap");
/** A field of the kind `resources` (requests and limits), typed `R` (ResourceSettings). */
export const resources = <R>() => typed<R, "resources">("resources");
/** A Kubernetes object given as a map, or a list of them; `T` is the element's type. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any Kubernetes object (Pulumi schemas: Any)
export const kubernetesObject = <T = Record<string, any>>() => typed<T, "object">("object");
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const kubernetesObjects = <T = Record<string, any>>() => typed<T[], "objectArray">("objectArray");

/**
 * One of `values`. Typed `string` unless `T` says otherwise: Pulumi's schema inference reads the
 * published interfaces, where a literal union has no members to read (see config/types.ts).
 */
export const oneOf =
    <T extends string = string>(...values: readonly NoInfer<T>[]) =>
    <S extends FieldSpec<T>>(spec: S) =>
        ({ kind: "enum", values, ...spec }) as { kind: "enum"; values: readonly T[] } & S & Typed<T>;
