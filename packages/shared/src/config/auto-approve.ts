/**
 * `[controller] auto_approve`: which hosts get their host→service claims
 * approved without an operator, when the claim changes no existing placement
 * (a claim that would is always held for an operator; docs/security.md,
 * "Host claims").
 *
 * Syntax: a comma-separated list of terms; a host matches when any term does.
 * - `*`: every host (the default);
 * - `none`: no host (alone; every claim waits for `smgr hosts approve`);
 * - a host-id glob: `web*`, `db-??.dc1` (`*` any run of characters, `?` one);
 * - `key=value`: hosts whose agent reports that label (`value` may be a glob).
 *   Labels come from the agent's own config, so a label term trusts the
 *   agent; a host-id term is checked against its certificate's name.
 */
export type AutoApproveTerm = { readonly kind: 'host'; readonly pattern: string } | { readonly kind: 'label'; readonly key: string; readonly pattern: string };

export type AutoApproveRules = readonly AutoApproveTerm[];

const HOST_GLOB = /^[A-Za-z0-9*?][A-Za-z0-9._*?-]{0,252}$/;
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9_./-]*$/;

/** Parses the setting; undefined when a term is malformed. `none` (or '') is no rule at all. */
export function parseAutoApprove(text: string): AutoApproveRules | undefined {
  const terms = text.split(',').map((t) => t.trim());
  if (terms.length === 1 && (terms[0] === 'none' || terms[0] === '')) return [];
  const out: AutoApproveTerm[] = [];
  for (const t of terms) {
    const eq = t.indexOf('=');
    if (eq >= 0) {
      const key = t.slice(0, eq).trim();
      const pattern = t.slice(eq + 1).trim();
      if (!LABEL_KEY.test(key) || pattern === '' || pattern.length > 255) return undefined;
      out.push({ kind: 'label', key, pattern });
    } else {
      if (!HOST_GLOB.test(t) || t === 'none') return undefined;
      out.push({ kind: 'host', pattern: t });
    }
  }
  return out;
}

/** Whether `text` matches the glob `pattern` (`*` any run, `?` one character), whole string. */
export function globMatches(pattern: string, text: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    's',
  );
  return re.test(text);
}

/** Whether a host with these labels is covered by the rules. */
export function autoApproves(rules: AutoApproveRules, hostId: string, labels: Readonly<Record<string, string>>): boolean {
  return rules.some((r) => (r.kind === 'host' ? globMatches(r.pattern, hostId) : Object.hasOwn(labels, r.key) && globMatches(r.pattern, labels[r.key]!)));
}
