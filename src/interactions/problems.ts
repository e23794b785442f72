// What the interaction rules find wrong, as codes. The rules never write sentences for a surface:
// `problemSentence` says what is wrong (the same words on every surface) and `problemFix` how to
// fix it where the fix does not depend on the surface. Each surface (flags, wizard, `omni apply`)
// words the fixes that name its own way of giving a value: a flag, a prompt, a key of the file.
import { FIELD_LABELS, type FieldName } from './model.js';

export type ProblemCode =
  | 'empty'
  | 'digits-only'
  | 'too-long'
  | 'control-characters'
  | 'name-taken'
  | 'unknown-channel'
  | 'unknown-api'
  | 'env-label-needs-v1.1'
  | 'bad-env-label'
  | 'whitespace'
  | 'not-a-url'
  | 'http-needs-allow-http'
  | 'not-https'
  | 'query-or-fragment'
  | 'has-credentials'
  | 'not-a-duration'
  | 'out-of-range'
  | 'missing';

export interface Problem {
  field: FieldName;
  code: ProblemCode;
  /** The value as given (never set for secrets: their values are not repeated anywhere). */
  value?: string;
  /** too-long: the length given and the limit. */
  length?: number;
  limit?: number;
  /** name-taken: the name of the live interaction that holds it (differs from `value` in case only, or not at all). */
  holder?: string;
  /** unknown-channel / unknown-api: the values omni knows. */
  known?: readonly string[];
}

const SECRET = new Set<FieldName>(['apiKey', 'apiSecretKey', 'accessToken', 'accessTokenSecret']);

/** "the name", "the API key", "the development environment label"… */
function subject(field: FieldName): string {
  if (field === 'devEnvironment') return 'the development environment label';
  if (field === 'callbackUrl') return 'the callback URL';
  if (field === 'name') return 'the name';
  if (field === 'silenceAlert') return 'the silence alert';
  return `the ${FIELD_LABELS[field]}`;
}

/** What is wrong, in the same words wherever it is reported. */
export function problemSentence(p: Problem): string {
  const v = p.value ?? '';
  switch (p.code) {
    case 'empty':
      return `${subject(p.field)} must not be empty`;
    case 'digits-only':
      return `'${v}' looks like an identifier`;
    case 'too-long':
      return SECRET.has(p.field)
        ? `${subject(p.field)} is ${p.length} characters long; that is not a Twitter credential`
        : `${subject(p.field)} is ${p.length} characters long; at most ${p.limit} are allowed`;
    case 'control-characters':
      return `${subject(p.field)} must not contain control characters`;
    case 'name-taken':
      return p.holder !== undefined && p.holder !== v
        ? `an interaction named '${p.holder}' already exists ('${v}' differs only in case)`
        : `an interaction named '${v}' already exists`;
    case 'unknown-channel':
      return `unknown channel '${v}'; known channels: ${(p.known ?? []).join(', ')}`;
    case 'unknown-api':
      return `unknown X API generation '${v}'; known: ${(p.known ?? []).join(', ')}`;
    case 'env-label-needs-v1.1':
      return 'the premium Account Activity API (v1.1) needs a development environment label';
    case 'bad-env-label':
      return `'${v}' is not a Twitter dev environment label`;
    case 'whitespace':
      return `${subject(p.field)} contains whitespace`;
    case 'not-a-url':
      return `'${v}' is not a URL`;
    case 'http-needs-allow-http':
      return 'the callback URL must use https (Twitter requires it)';
    case 'not-https':
      return 'the callback URL must be an https:// URL';
    case 'query-or-fragment':
      return 'the callback URL must not have a query or fragment';
    case 'has-credentials':
      return 'the callback URL must not contain credentials';
    case 'not-a-duration':
      return `'${v}' is not a duration like 90m, 6h or 2d`;
    case 'out-of-range':
      return `${subject(p.field)} '${v}' is outside 10m to 30d`;
    case 'missing':
      return `${subject(p.field)} is required`;
  }
}

/**
 * How to fix it, when that is the same on every surface; undefined when the fix names a flag, a
 * prompt or a file key (the surface words it) or when the sentence says it all.
 */
export function problemFix(p: Problem): string | undefined {
  switch (p.code) {
    case 'digits-only':
      return 'give the interaction a name with letters (ids are assigned by omni)';
    case 'empty':
      return p.field === 'devEnvironment' ? 'it is the "Dev environment label" in Twitter Developer' : undefined;
    case 'unknown-api':
      return 'activity is X\'s current API; v2 and v1.1 are for accounts already set up on them';
    case 'bad-env-label':
      return "use at most 64 letters, digits, '-' or '_' (the \"Dev environment label\" in Twitter Developer)";
    case 'whitespace':
      return 'paste it again from Twitter Developer ("Keys and tokens")';
    case 'not-a-url':
    case 'not-https':
      return 'example: https://helpdesk.example.com';
    case 'not-a-duration':
    case 'out-of-range':
      return 'example: 6h (no inbound DM for 6 hours while all else is healthy), or off';
    case 'query-or-fragment':
    case 'has-credentials':
      return 'give the public base URL of the listener, e.g. https://helpdesk.example.com';
    default:
      return undefined;
  }
}

/** "sentence; fix" on one line, for surfaces that show both together (prompts, file reports). */
export function problemLine(p: Problem, fix: string | undefined = problemFix(p)): string {
  return fix ? `${problemSentence(p)}; ${fix}` : problemSentence(p);
}

/**
 * The write path refused: the caller did not check (or the database changed since it did). Every
 * surface checks first and words the problems itself; this is the last line, worded neutrally.
 */
export class InteractionRefused extends Error {
  readonly exitCode = 2;
  readonly hint: string | undefined;
  constructor(readonly problems: Problem[]) {
    super(problems.map((p) => problemSentence(p)).join('; '));
    this.name = 'InteractionRefused';
    this.hint = problems.map((p) => problemFix(p)).filter((f) => f !== undefined)[0];
  }
}
