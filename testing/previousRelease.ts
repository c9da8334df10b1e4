/**
 * The previous release of this repository, checked out beside the working tree, so that a suite
 * can create a stack with it and then update that stack with the current code (what a team that
 * upgrades does). The checkout shares this tree's node_modules: the release pins the same
 * `@pulumi/*` versions.
 */
import * as fs from "fs";
import * as path from "path";
import { mustRun, runCommand } from "./command";

/** Release 0.2.0 (main's commit; its tag adds `dist/`): stacks it created must update safely. */
export const PREVIOUS_RELEASE = "9e809df";
/** Its version, for test names and figures. */
export const PREVIOUS_VERSION = "0.2.0";

const REPO_DIR = path.join(__dirname, "..");

/** Why the previous release cannot be checked out here (a shallow clone), or undefined. */
export async function previousReleaseSkipReason(): Promise<string | undefined> {
    const r = await runCommand("git", ["cat-file", "-e", `${PREVIOUS_RELEASE}^{commit}`], { cwd: REPO_DIR, timeoutMs: 30000 });
    return r.code === 0 ? undefined : `commit ${PREVIOUS_RELEASE} (release ${PREVIOUS_VERSION}) is not in this clone (shallow?)`;
}

/** A detached worktree of the previous release in `dir`; remove it with {@link removePreviousRelease}. */
export async function checkoutPreviousRelease(dir: string): Promise<string> {
    await mustRun("git", ["worktree", "add", "--detach", "--force", dir, PREVIOUS_RELEASE], { cwd: REPO_DIR, timeoutMs: 120000 });
    fs.symlinkSync(path.join(REPO_DIR, "node_modules"), path.join(dir, "node_modules"));
    return dir;
}

export async function removePreviousRelease(dir: string): Promise<void> {
    await runCommand("git", ["worktree", "remove", "--force", dir], { cwd: REPO_DIR, timeoutMs: 60000 });
    await runCommand("git", ["worktree", "prune"], { cwd: REPO_DIR, timeoutMs: 60000 });
}

/** Stack-config sections added since the previous release, which refuses keys it does not know. */
export const SECTIONS_SINCE_PREVIOUS_RELEASE = ["metrics"] as const;

/**
 * The part of a stack config the previous release accepts: without the sections added since (a
 * team that upgrades adds them, if at all, after the upgrade; their defaults apply until then).
 */
export function previousReleaseConfig(config: Record<string, unknown>): Record<string, unknown> {
    return Object.fromEntries(Object.entries(config).filter(([k]) => !(SECTIONS_SINCE_PREVIOUS_RELEASE as readonly string[]).includes(k)));
}

/** Step counts of `pulumi preview --json` by operation, e.g. `{ same: 40, update: 2 }`. */
export function previewOperations(previewJson: string): Record<string, number> {
    const ops: Record<string, number> = {};
    for (const s of previewSteps(previewJson)) ops[s.op] = (ops[s.op] ?? 0) + 1;
    return ops;
}

/** The steps of `pulumi preview --json`: operation and URN. */
export function previewSteps(previewJson: string): { op: string; urn: string }[] {
    return (JSON.parse(previewJson) as { steps?: { op: string; urn: string }[] }).steps ?? [];
}

/** What an upgrade may do besides updating in place: which URNs it may replace and which it may create. */
export interface UpgradeAllowance {
    /** Stateless resources a new release may replace (e.g. containers rolled one at a time). */
    replaceable?: (urn: string) => boolean;
    /** Resources new in this release. */
    creatable?: (urn: string) => boolean;
}

const REPLACING = ["replace", "create-replacement", "delete-replaced"];

/**
 * The steps of an upgrade preview that would recreate or lose something: a deletion (a URN that
 * moves: an alias missing), a creation not allowed as new, a replacement not allowed as stateless,
 * a discard. A volume, a bucket, a StatefulSet or a claim is never allowed.
 */
export function recreatingSteps(previewJson: string, allow: UpgradeAllowance = {}): string[] {
    return previewSteps(previewJson)
        .filter((s) => {
            if (REPLACING.includes(s.op)) return !(allow.replaceable?.(s.urn) ?? false);
            if (s.op === "create") return !(allow.creatable?.(s.urn) ?? false);
            return s.op === "delete" || s.op === "discard";
        })
        .map((s) => `${s.op} ${s.urn}`);
}

/** Each recreating step of `pulumi preview --json` with what makes it replace (`replaceReasons`). */
export function replacementReasons(previewJson: string): string[] {
    const steps = (JSON.parse(previewJson) as { steps?: { op: string; urn: string; replaceReasons?: string[]; diffReasons?: string[] }[] }).steps ?? [];
    return steps
        .filter((s) => ["create", "delete", "replace", "create-replacement", "delete-replaced", "discard"].includes(s.op))
        .map((s) => `${s.op} ${s.urn}${s.replaceReasons?.length ? ` (replace reasons: ${s.replaceReasons.join(", ")})` : ""}${s.diffReasons?.length ? ` (diff: ${s.diffReasons.join(", ")})` : ""}`);
}
