/**
 * The configuration is described once, in config/schema.ts: docs/configuration.md's table and
 * config/types.ts' interfaces are generated from it (`npm run docs:config`) and must be up to
 * date, and every key must be documented there.
 */
import * as fs from "fs";
import { Field } from "../../../config/field";
import { SECRET_KEYS, SECTION_FIELDS, TOP_LEVEL_FIELDS } from "../../../config/schema";
import { defaultText } from "../../../testing/docs/configFieldText";
import { REFERENCE_FILE, renderReference, withReference } from "../../../testing/docs/configReference";
import { renderTypes, TYPES_FILE, withTypes } from "../../../testing/docs/configTypes";

/** Every field of the description, by its stack key. */
const FIELDS: [string, Field][] = [
    ...Object.entries(TOP_LEVEL_FIELDS),
    ...Object.entries(SECTION_FIELDS).flatMap(([s, fields]) => Object.entries(fields as Record<string, Field>).map(([k, f]): [string, Field] => [`${s}.${k}`, f])),
];

describe("docs/configuration.md", () => {
    const table = renderReference();

    it("is what npm run docs:config writes (run it after changing a setting)", () => {
        const current = fs.readFileSync(REFERENCE_FILE, "utf8");
        expect(current).toBe(withReference(current, table));
    });

    it("has one row per key of the schema, the secrets included", () => {
        const keys = [...Object.keys(TOP_LEVEL_FIELDS), ...SECRET_KEYS, ...Object.entries(SECTION_FIELDS).flatMap(([s, f]) => Object.keys(f).map((k) => `${s}.${k}`))];
        const rows = table.split("\n").slice(2).map((r) => /^\| `([^`]+)`/.exec(r)![1]);
        expect(rows).toEqual(keys);
    });
});

describe("config/types.ts", () => {
    it("has the interfaces npm run docs:config writes from the schema (run it after changing a setting)", () => {
        const current = fs.readFileSync(TYPES_FILE, "utf8");
        expect(current).toBe(withTypes(current, renderTypes()));
    });
});

describe("config/schema.ts", () => {
    it.each(FIELDS)("%s has a doc of whole sentences", (_key, field) => {
        expect(field.doc).toMatch(/^\S.*[.)]$/s);
    });

    it.each(FIELDS)("%s says its default: a value, or in words when computed, unset or required", (_key, field) => {
        if (typeof field.default === "function" || field.required) expect(field.defaultText).toEqual(expect.stringMatching(/\S/));
        expect(defaultText(field)).toMatch(field.default === undefined && !field.defaultText ? /^unset$/ : /\S/);
    });

    it.each(FIELDS)("%s states the unit its name implies", (key, field) => {
        const implied = /Milliseconds$/.test(key) ? "milliseconds" : /Seconds$/.test(key) ? "seconds" : /Days$/.test(key) ? "days" : /Megabytes$/.test(key) ? "megabytes (MiB)" : undefined;
        expect(field.unit).toBe(implied);
    });

    it("puts each field's doc, unit and default in the reference and the interfaces", () => {
        const table = renderReference();
        const types = renderTypes();
        for (const [key, field] of FIELDS) {
            const row = table.split("\n").find((r) => r.startsWith(`| \`${key}\` |`));
            expect([key, row?.includes(field.doc.replace(/\|/g, "\\|"))]).toEqual([key, true]);
            if (field.unit) expect([key, row?.includes(`| ${field.unit} |`)]).toEqual([key, true]);
            const words = field.doc.split(/\s+/).slice(0, 6).join(" ");
            expect([key, types.replace(/\n\s*\* /g, " ").includes(words)]).toEqual([key, true]);
        }
    });
});
