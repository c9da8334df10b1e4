/** Quoting helpers for the settings the renderers prepend to the shell files in `scripts/`. */

/** Single-quotes a value for sh. */
export function shellQuote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** `NAME='value'` lines for a rendered settings block. */
export function shellAssignments(vars: Record<string, string | number>): string {
    return Object.entries(vars)
        .map(([k, v]) => `${k}=${shellQuote(String(v))}`)
        .join("\n");
}
