import { Injectable, type OnModuleInit, type Type } from '@nestjs/common';
import { classPersonalDataProblems } from '../erasure/personal-data-declaration.js';
import { needsClassTransformer } from './class-transformer-metadata.js';
import { eventTypeDeclarationOf, type Upcaster } from './event-type.decorator.js';

/** An event type as the registry knows it. */
export interface RegisteredEventType {
  name: string;
  /** The current version: what the class describes. */
  version: number;
  firstVersion: number;
  target: Type<object>;
  /** Upcasters by the version they read. */
  upcasters: ReadonlyMap<number, Upcaster>;
  /** Whether instances need class-transformer (nested types, transforms) rather than a plain copy. */
  transformed: boolean;
}

/** An upcaster given to `forFeature` rather than on the class. */
export interface UpcasterRegistration {
  eventType: string;
  fromVersion: number;
  upcast: Upcaster;
}

/** The registration mistakes that stop the boot, all named in one message. */
export class EventTypeRegistrationError extends Error {
  /** Always `EventTypeRegistrationError`. */
  override readonly name = 'EventTypeRegistrationError';
}

interface UpcasterSource {
  upcast: Upcaster;
  source: string;
}

/**
 * The event types of the application, filled by every `EventStoreModule.forFeature([...])` and
 * checked once when the modules have been created: a type name claimed by two classes, a version
 * that is not a positive integer, two upcasters for one version, or a gap in the upcaster chain
 * stops the boot with one message naming the classes.
 */
@Injectable()
export class EventTypeRegistry implements OnModuleInit {
  private readonly byName = new Map<string, RegisteredEventType>();
  private readonly byClass = new Map<Type<object>, RegisteredEventType>();
  private readonly classesByName = new Map<string, Set<Type<object>>>();
  private readonly upcasterSources = new Map<string, Map<number, UpcasterSource[]>>();
  private readonly problems: string[] = [];
  private verified = false;

  /** Registers event classes (and upcasters declared outside them); checked by {@link verify}. */
  register(classes: ReadonlyArray<Type<object>>, upcasters: ReadonlyArray<UpcasterRegistration> = []): void {
    this.verified = false;
    classes.forEach((target) => this.registerClass(target));
    upcasters.forEach(({ eventType, fromVersion, upcast }) => this.addUpcaster(eventType, fromVersion, upcast, 'forFeature upcasters'));
  }

  /** Checks every registration at once; throws {@link EventTypeRegistrationError} listing every mistake. */
  verify(): void {
    const problems = [...this.problems, ...this.conflicts(), ...this.chainProblems()];
    if (problems.length > 0) {
      throw new EventTypeRegistrationError(`Event type registration failed: ${problems.join('; ')}`);
    }
    this.buildIndexes();
    this.verified = true;
  }

  /** Runs after every module's providers exist, so every `forFeature` has registered. */
  onModuleInit(): void {
    this.verify();
  }

  /** The registration of an event type name, if any. */
  forName(name: string): RegisteredEventType | undefined {
    this.ensureVerified();
    return this.byName.get(name);
  }

  /** The registration of an instance's class, if the class is registered. */
  forInstance(value: object): RegisteredEventType | undefined {
    this.ensureVerified();
    return this.byClass.get(value.constructor as Type<object>);
  }

  /** `true` when no type is registered: reads can skip typing altogether. */
  get isEmpty(): boolean {
    return this.classesByName.size === 0;
  }

  private ensureVerified(): void {
    if (!this.verified) {
      this.verify();
    }
  }

  private registerClass(target: Type<object>): void {
    const declaration = eventTypeDeclarationOf(target);
    if (declaration === undefined) {
      this.problems.push(`${target.name} has no @EventType(...) decorator`);
      return;
    }
    const { name, version, firstVersion, upcasters } = declaration;
    if (!isTypeName(name)) {
      this.problems.push(`${target.name}: event type name ${JSON.stringify(name)} must be 1 to 200 characters without control characters`);
      return;
    }
    if (!isPositiveInteger(version) || !isPositiveInteger(firstVersion) || firstVersion > version) {
      this.problems.push(
        `${target.name}: version ${String(version)} (first version ${String(firstVersion)}) of '${name}' must be positive integers, the first no greater`,
      );
      return;
    }
    const classes = this.classesByName.get(name) ?? new Set();
    if (classes.has(target)) {
      return; // the same class from two feature modules
    }
    this.classesByName.set(name, classes.add(target));
    this.problems.push(...classPersonalDataProblems(target));
    Object.entries(upcasters).forEach(([from, upcast]) => this.addUpcaster(name, Number(from), upcast, target.name));
  }

  private addUpcaster(eventType: string, fromVersion: number, upcast: Upcaster, source: string): void {
    if (typeof upcast !== 'function') {
      this.problems.push(`'${eventType}' has an upcaster from version ${fromVersion} (${source}) that is not a function`);
      return;
    }
    const byVersion = this.upcasterSources.get(eventType) ?? new Map<number, UpcasterSource[]>();
    this.upcasterSources.set(eventType, byVersion);
    const known = byVersion.get(fromVersion) ?? [];
    if (known.some((entry) => entry.upcast === upcast)) {
      return; // the same upcaster, given by two feature modules
    }
    byVersion.set(fromVersion, [...known, { upcast, source }]);
  }

  private conflicts(): string[] {
    return [...this.classesByName]
      .filter(([, classes]) => classes.size > 1)
      .map(([name, classes]) => `event type '${name}' is claimed by ${[...classes].map((c) => c.name).join(' and ')}`);
  }

  private chainProblems(): string[] {
    const problems: string[] = [];
    for (const [name, classes] of this.classesByName) {
      const [target] = classes;
      const { version, firstVersion } = eventTypeDeclarationOf(target!)!;
      const upcasters = this.upcasterSources.get(name) ?? new Map<number, UpcasterSource[]>();
      for (const [from, sources] of upcasters) {
        if (sources.length > 1) {
          problems.push(`'${name}' has ${sources.length} upcasters from version ${from} (${sources.map((s) => s.source).join(', ')})`);
        }
        if (!Number.isInteger(from) || from < firstVersion || from >= version) {
          problems.push(`'${name}' (${target!.name}) has an upcaster from version ${from}, outside ${firstVersion}..${version - 1}`);
        }
      }
      for (let from = firstVersion; from < version; from++) {
        if (!upcasters.has(from)) {
          problems.push(`'${name}' (${target!.name}) is at version ${version} but has no upcaster from version ${from} to ${from + 1}`);
        }
      }
    }
    for (const name of this.upcasterSources.keys()) {
      if (!this.classesByName.has(name)) {
        problems.push(`upcasters are given for '${name}', which no registered class declares`);
      }
    }
    return problems;
  }

  private buildIndexes(): void {
    this.byName.clear();
    this.byClass.clear();
    for (const [name, [target]] of [...this.classesByName].map(([n, c]) => [n, [...c]] as const)) {
      const { version, firstVersion } = eventTypeDeclarationOf(target!)!;
      const sources = this.upcasterSources.get(name) ?? new Map<number, UpcasterSource[]>();
      const upcasters = new Map([...sources].map(([from, [first]]) => [from, first!.upcast]));
      const transformed = needsClassTransformer(target!);
      const registered: RegisteredEventType = { name, version, firstVersion, target: target!, upcasters, transformed };
      this.byName.set(name, registered);
      this.byClass.set(target!, registered);
    }
  }
}

function isTypeName(value: unknown): boolean {
  // eslint-disable-next-line no-control-regex -- control characters are what it refuses
  return typeof value === 'string' && value.length > 0 && value.length <= 200 && !/[\u0000-\u001f\u007f-\u009f]/.test(value);
}

function isPositiveInteger(value: unknown): boolean {
  return Number.isSafeInteger(value) && (value as number) >= 1;
}
