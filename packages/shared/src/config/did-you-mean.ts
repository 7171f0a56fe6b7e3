import { distance } from 'fastest-levenshtein';

/**
 * The known word closest to `word` by edit distance, when it is close enough
 * to be a typo (2 edits, 3 for long words; 1 for one- and two-letter words); undefined
 * otherwise, so a key that is simply wrong gets no misleading suggestion.
 */
export function closestWord(word: string, known: Iterable<string>): string | undefined {
  const needle = word.toLowerCase();
  // Levenshtein counts a swap of two letters (tsl → tls) as 2 edits.
  const limit = needle.length <= 2 ? 1 : Math.min(3, Math.max(2, Math.floor(needle.length / 3)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of known) {
    const d = distance(needle, candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** `rule` plus "; did you mean X?" when a close known word exists. */
export function withSuggestion(rule: string, word: string, known: Iterable<string>, render: (w: string) => string = (w) => w): string {
  const match = closestWord(word, known);
  return match === undefined || match === word ? rule : `${rule}; did you mean ${render(match)}?`;
}
