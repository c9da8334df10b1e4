/** A problem found in a stack config, and the report every validator shares. */

/** One problem in the stack config: the key, what is wrong, and how to fix it. */
export interface ConfigIssue {
    key: string;
    message: string;
    fix: string;
}

/** A readable report of every issue, one per line. */
export function formatIssues(issues: ConfigIssue[], subject = "the stack config"): string {
    const lines = issues.map((i) => `  - ${i.key}: ${i.message}. Fix: ${i.fix}.`);
    return `tile38-ha: ${subject} has ${issues.length} problem${issues.length === 1 ? "" : "s"}:\n${lines.join("\n")}`;
}

/** Thrown by `loadStackConfig` and the components' constructors with the whole report. */
export class ConfigValidationError extends Error {
    constructor(readonly issues: ConfigIssue[], subject?: string) {
        super(formatIssues(issues, subject));
        this.name = "ConfigValidationError";
    }
}
