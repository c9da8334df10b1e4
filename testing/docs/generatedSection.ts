/**
 * A document's generated part: the text between two marker comments, written by a script
 * (`npm run docs:config`, `npm run docs:monitoring`) and checked by a unit test against what the
 * script would write, so that the docs cannot drift from the code.
 */

/** The markers around one generated part. */
export interface GeneratedMarkers {
    begin: string;
    end: string;
}

/** `current` (the text of `file`) with the part between the markers replaced by `body`. */
export function withGeneratedSection(current: string, body: string, markers: GeneratedMarkers, file: string): string {
    const a = current.indexOf(markers.begin);
    const b = current.indexOf(markers.end);
    if (a < 0 || b < a) throw new Error(`${file} lacks the markers ${markers.begin} … ${markers.end}`);
    return `${current.slice(0, a + markers.begin.length)}\n${body}\n${current.slice(b)}`;
}
