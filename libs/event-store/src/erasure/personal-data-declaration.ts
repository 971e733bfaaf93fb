import { classPersonalDataOf } from './personal-data.decorator.js';

/**
 * Where the personal data of one event type is, as dotted paths into its `data` (`'profile.name'`
 * is `data.profile.name`; paths go through objects only, and a key holding a dot cannot be named).
 *
 * @example
 * EventStoreModule.forRoot({
 *   personalData: { PlayerRegistered: { subject: 'playerId', fields: ['email', 'profile.name'] } },
 * })
 */
export interface PersonalDataDeclaration {
  /** Path of the data subject's id (a string or an integer, stored in clear), e.g. `'playerId'`. */
  subject: string;
  /** Paths of the personal fields, each encrypted whole with the subject's key, e.g. `['email']`. */
  fields: string[];
}

/** One personal field of an event type: its dotted path and the keys along it. */
export interface PersonalFieldPath {
  path: string;
  keys: string[];
}

/** The personal data of one event type, checked: what appends encrypt. */
export interface PersonalFields {
  eventType: string;
  subject: PersonalFieldPath;
  fields: PersonalFieldPath[];
}

/**
 * The `personalData` option, checked: every declaration's paths well formed, no field that is the
 * subject, holds it or lies inside another field. Throws one message listing every mistake.
 */
export function resolvePersonalData(option: unknown): ReadonlyMap<string, PersonalFields> {
  if (option === undefined) {
    return new Map();
  }
  if (typeof option !== 'object' || option === null || Array.isArray(option)) {
    throw new Error('Event store option personalData must be an object: { [eventType]: { subject: path, fields: [paths] } }');
  }
  const resolved = new Map<string, PersonalFields>();
  const problems: string[] = [];
  for (const [eventType, declaration] of Object.entries(option)) {
    const found = declarationProblems(declaration);
    if (found.length > 0) {
      problems.push(...found.map((problem) => `personalData['${eventType}']: ${problem}`));
      continue;
    }
    const { subject, fields } = declaration as PersonalDataDeclaration;
    resolved.set(eventType, { eventType, subject: toPath(subject), fields: fields.map(toPath) });
  }
  if (problems.length > 0) {
    throw new Error(`Event store option ${problems.join('; ')}`);
  }
  return resolved;
}

/**
 * The mistakes in a class's `@PersonalData()` / `@DataSubject()` declarations, for the event type
 * registry to report at boot: personal data without exactly one subject property, a subject
 * without personal data, a property that is both.
 */
export function classPersonalDataProblems(target: abstract new (...args: never[]) => unknown): string[] {
  const declared = classPersonalDataOf(target);
  if (declared === undefined) {
    return [];
  }
  const { fields, subjects } = declared;
  const name = target.name;
  if (fields.length === 0) {
    return [
      `${name} has a @DataSubject() property (${subjects.join(', ')}) but no @PersonalData() property: remove it, or mark the personal ones`,
    ];
  }
  if (subjects.length !== 1) {
    return [
      subjects.length === 0
        ? `${name} has @PersonalData() properties (${fields.join(', ')}) but no @DataSubject() property naming whose data they are`
        : `${name} has ${subjects.length} @DataSubject() properties (${subjects.join(', ')}): mark exactly one`,
    ];
  }
  return fields.includes(subjects[0]!)
    ? [`${name}.${subjects[0]} is both @DataSubject() and @PersonalData(): the subject id is stored in clear (it finds the key)`]
    : [];
}

/** The personal data a registered class declares, as paths of its stored data; `undefined` if none. */
export function classPersonalFields(eventType: string, target: object): PersonalFields | undefined {
  const declared = classPersonalDataOf(target);
  if (declared === undefined || declared.fields.length === 0 || declared.subjects.length !== 1) {
    return undefined;
  }
  return { eventType, subject: { path: declared.subjects[0]!, keys: [declared.subjects[0]!] }, fields: declared.fields.map(toPath) };
}

function declarationProblems(declaration: unknown): string[] {
  const { subject, fields } = (declaration ?? {}) as { subject?: unknown; fields?: unknown };
  if (!isPath(subject)) {
    return ["subject must be a dotted path into the event's data, e.g. 'playerId'"];
  }
  if (!Array.isArray(fields) || fields.length === 0) {
    return ["fields must be a non-empty array of dotted paths into the event's data, e.g. ['email']"];
  }
  const problems = fields.filter((field) => !isPath(field)).map((field) => `field ${JSON.stringify(field)} is not a dotted path`);
  if (problems.length > 0) {
    return problems;
  }
  return [...overlaps(subject, fields as string[])];
}

/** Fields that are the subject or hold it, repeat, or nest in one another (each field is encrypted whole, once). */
function* overlaps(subject: string, fields: string[]): Iterable<string> {
  for (const [index, field] of fields.entries()) {
    if (field === subject || within(subject, field)) {
      yield `field '${field}' holds the subject '${subject}', which is stored in clear (it finds the key)`;
    }
    for (const other of fields.slice(index + 1)) {
      if (other === field) yield `field '${field}' is given twice`;
      else if (within(other, field) || within(field, other)) yield `fields '${field}' and '${other}' nest: declare the outer one alone`;
    }
  }
}

/** Whether `path` lies inside `outer` (`profile.name` inside `profile`). */
function within(path: string, outer: string): boolean {
  return path.startsWith(`${outer}.`);
}

// eslint-disable-next-line no-control-regex -- control characters are what it refuses (they separate the parts of a seal's additional data)
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;

function isPath(value: unknown): value is string {
  return (
    typeof value === 'string' && value.length <= 1000 && !CONTROL_CHARACTER.test(value) && value.split('.').every((key) => key.length > 0)
  );
}

function toPath(path: string): PersonalFieldPath {
  return { path, keys: path.split('.') };
}
