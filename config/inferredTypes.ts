/**
 * The settings types as the one description (config/schema.ts) implies them, and a compile-time
 * proof that the published interfaces of config/types.ts are exactly these. The interfaces stay
 * interfaces with TSDoc (generated from the description by `npm run docs:config`) because Pulumi's
 * schema inference and editors read those; a field added, retyped or made optional in one place
 * and not the other fails `tsc`.
 */
import type { Typed } from "./field";
import type { SECTION_FIELDS, TOP_LEVEL_FIELDS } from "./schema";
import type { BackupSettings, DockerSettings, KubernetesSettings, MetricsSettings, SentinelSettings, StackConfig, Tile38Settings } from "./types";

/** The TypeScript type a field declares. */
type TypeOf<F> = F extends Typed<infer T> ? T : never;

/** Keys whose field is always present in a complete config: it has a default, or must be given. */
type PresentKeys<S> = { [K in keyof S]: S[K] extends { default: unknown } | { required: true } ? K : never }[keyof S];

type Flatten<T> = { [K in keyof T]: T[K] };

/** The settings type of a group of fields: present fields required, the others optional. */
export type SettingsOf<S> = Flatten<
    { -readonly [K in PresentKeys<S>]: TypeOf<S[K]> } & { -readonly [K in Exclude<keyof S, PresentKeys<S>>]?: TypeOf<S[K]> }
>;

type Sections = typeof SECTION_FIELDS;

/** The whole config as the description implies it. */
export type InferredStackConfig = Flatten<SettingsOf<typeof TOP_LEVEL_FIELDS> & { -readonly [S in keyof Sections]: SettingsOf<Sections[S]> }>;

/** True when A and B are the same type (not merely assignable either way). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Assert<T extends true> = T;

// Each line fails to compile when the interface and the description disagree.
export type TypesAgree = [
    Assert<Equal<Tile38Settings, SettingsOf<Sections["tile38"]>>>,
    Assert<Equal<SentinelSettings, SettingsOf<Sections["sentinel"]>>>,
    Assert<Equal<DockerSettings, SettingsOf<Sections["docker"]>>>,
    Assert<Equal<KubernetesSettings, SettingsOf<Sections["kubernetes"]>>>,
    Assert<Equal<BackupSettings, SettingsOf<Sections["backup"]>>>,
    Assert<Equal<MetricsSettings, SettingsOf<Sections["metrics"]>>>,
    Assert<Equal<StackConfig, InferredStackConfig>>,
];
