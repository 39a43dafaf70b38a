import { type Tier, tierRank } from './tiers.ts';

/** A matcher: exact text (case-insensitive, trimmed), `/regex/`, or any of a list of those. */
export type Matcher = string | readonly string[];

export interface PolicyRule {
  readonly name: string;
  readonly match: { readonly department?: Matcher; readonly title?: Matcher };
  /** The tier this rule gives when the roster names none. */
  readonly tier: Tier;
  /** The highest tier the roster may ask for people this rule matches. Defaults to `tier`. */
  readonly max?: Tier;
}

export interface Policy {
  readonly default: { readonly tier: Tier; readonly max?: Tier };
  readonly rules: readonly PolicyRule[];
}

export interface PolicySubject {
  readonly department: string | null;
  readonly title: string | null;
  /** The tier the roster asked for, if any. */
  readonly requested: Tier | null;
}

export type PolicyDecision =
  | { readonly ok: true; readonly tier: Tier; readonly decidedBy: string }
  | { readonly ok: false; readonly reason: string; readonly rule: string };

export function decideTier(policy: Policy, subject: PolicySubject, compiled = compilePolicy(policy)): PolicyDecision {
  const rule = compiled.find((r) => r.matches(subject));
  const name = rule === undefined ? 'default' : `rule ${rule.rule.name}`;
  const base = rule === undefined ? policy.default.tier : rule.rule.tier;
  const cap = rule === undefined ? (policy.default.max ?? policy.default.tier) : (rule.rule.max ?? rule.rule.tier);
  if (subject.requested === null) return { ok: true, tier: base, decidedBy: name };
  if (tierRank(subject.requested) > tierRank(cap)) {
    return {
      ok: false,
      rule: name,
      reason: `tier ${subject.requested} is above what ${name} allows (at most ${cap})`,
    };
  }
  return { ok: true, tier: subject.requested, decidedBy: `roster (allowed by ${name}, at most ${cap})` };
}

interface CompiledRule {
  readonly rule: PolicyRule;
  matches(subject: PolicySubject): boolean;
}

/** Compile once per plan: regexes are built here, not per person. */
export function compilePolicy(policy: Policy): CompiledRule[] {
  return policy.rules.map((rule) => {
    const department = compileMatcher(rule.match.department);
    const title = compileMatcher(rule.match.title);
    return {
      rule,
      matches: (s: PolicySubject) => department(s.department) && title(s.title),
    };
  });
}

function compileMatcher(matcher: Matcher | undefined): (value: string | null) => boolean {
  if (matcher === undefined) return () => true;
  const tests = (typeof matcher === 'string' ? [matcher] : matcher).map(compileOne);
  return (value) => value !== null && tests.some((test) => test(value.trim()));
}

function compileOne(pattern: string): (value: string) => boolean {
  if (pattern.length > 2 && pattern.startsWith('/') && pattern.endsWith('/')) {
    const re = new RegExp(pattern.slice(1, -1), 'iu');
    return (value) => re.test(value);
  }
  const wanted = pattern.trim().toLowerCase();
  return (value) => value.toLowerCase() === wanted;
}
