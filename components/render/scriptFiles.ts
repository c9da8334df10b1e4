import * as fs from "fs";
import * as path from "path";
import { shellAssignments } from "./shell";

/**
 * Directory of the shell sources. They ship beside the compiled renderers (`npm run build` copies
 * `components/render/scripts/` into `bin/`, and package.json `files` includes it).
 */
export const SCRIPTS_DIR = path.join(__dirname, "scripts");

/** A line that includes a library from the same directory (also what shellcheck follows). */
const INCLUDE_LINE = /^\. \.\/([A-Za-z0-9._-]+\.sh)$/;
/** The line that the rendered settings replace. */
const SETTINGS_LINE = "# @settings";
/** A library's dialect directive, for shellcheck only. */
const DIALECT_LINE = /^# shellcheck shell=\w+$/;

/** The text of a file under {@link SCRIPTS_DIR}. */
export function scriptSource(name: string): string {
    return fs.readFileSync(path.join(SCRIPTS_DIR, name), "utf8");
}

function library(name: string, includer: string): string {
    const lines = scriptSource(name).split("\n");
    if (lines.some((l) => INCLUDE_LINE.test(l))) throw new Error(`${name} (included by ${includer}) may not include another file`);
    return lines
        .filter((l, i) => !(i === 0 && DIALECT_LINE.test(l)))
        .join("\n")
        .replace(/\n+$/, "");
}

/**
 * Renders `scripts/<name>` into the one self-contained script a container runs: the
 * `# @settings` line becomes `NAME='value'` assignments (the values from the stack config), and
 * every `. ./lib.sh` line becomes that library's text. Nothing else changes, so the deployed script
 * reads like its source file and shellcheck's verdict on the source holds for it.
 */
export function renderScriptFile(name: string, settings: Record<string, string | number>): string {
    const source = scriptSource(name);
    const lines = source.split("\n");
    if (lines.filter((l) => l === SETTINGS_LINE).length !== 1) throw new Error(`${name} must hold exactly one '${SETTINGS_LINE}' line`);
    return lines
        .map((l) => {
            if (l === SETTINGS_LINE) return `# Settings rendered from the stack config:\n${shellAssignments(settings)}`;
            const include = INCLUDE_LINE.exec(l);
            return include ? library(include[1], name) : l;
        })
        .join("\n");
}
