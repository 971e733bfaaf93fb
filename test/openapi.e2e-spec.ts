import request from 'supertest';
import { createTestApp, type TestApp } from './helpers/test-app.js';

/** The parts of an OpenAPI 3 document these tests read. */
interface Schema {
  $ref?: string;
  type?: string;
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  oneOf?: Schema[];
  allOf?: Schema[];
  enum?: unknown[];
  nullable?: boolean;
  description?: string;
  format?: string;
}
interface Operation {
  tags?: string[];
  security?: Array<Record<string, string[]>>;
  parameters?: Array<{ name: string; in: string; required?: boolean; description?: string; schema?: Schema & { default?: unknown } }>;
  requestBody?: { required?: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<
    string,
    {
      description: string;
      content?: Record<string, { schema: Schema; examples?: Record<string, { value: { code: string; statusCode: number } }> }>;
    }
  >;
}
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; securitySchemes?: Record<string, { type: string; scheme?: string }> };
}

/** Every route of the contract, with its methods. */
const CONTRACT: Record<string, string[]> = {
  '/streams/{streamId}/events': ['post', 'get'],
  '/streams/{streamId}/links': ['post'],
  '/append': ['post'],
  '/events/{eventId}': ['get'],
  '/session': ['get'],
  '/streams/{streamId}': ['get', 'head', 'delete'],
  '/streams/{streamId}/metadata': ['get', 'put'],
  '/streams': ['get'],
  '/all/events': ['get'],
  '/streams/{streamId}/subscribe': ['get'],
  '/all/subscribe': ['get'],
  '/subscriptions': ['post', 'get'],
  '/subscriptions/{name}': ['get', 'delete'],
  '/subscriptions/{name}/failed': ['get'],
  '/subscriptions/{name}/failed/replay': ['post'],
  '/subscriptions/{name}/reset': ['post'],
  '/health': ['get'],
  '/health/live': ['get'],
  '/health/ready': ['get'],
  '/metrics': ['get'],
};

describe('the OpenAPI document', () => {
  let t: TestApp;
  let doc: OpenApiDocument;
  beforeAll(async () => {
    t = await createTestApp({}, 'openapi');
    const response = await request(t.http).get('/docs-json');
    expect(response.status).toBe(200);
    doc = response.body as OpenApiDocument;
  });
  afterAll(async () => {
    await t.close();
  });

  /** The schema a `$ref` names (or the schema itself when it is inline). */
  const resolve = (schema: Schema | undefined): Schema => {
    expect(schema).toBeDefined();
    if (schema!.$ref === undefined) {
      return schema!;
    }
    const name = schema!.$ref.replace('#/components/schemas/', '');
    expect(doc.components.schemas).toHaveProperty([name]);
    return doc.components.schemas[name]!;
  };
  const jsonSchema = (operation: Operation, status: number): Schema =>
    resolve(operation.responses[String(status)]?.content?.['application/json']?.schema);

  it('lists every route of the contract with its methods, each tagged and under bearer auth', () => {
    for (const [path, methods] of Object.entries(CONTRACT)) {
      expect(doc.paths).toHaveProperty([path]);
      for (const method of methods) {
        const operation = doc.paths[path]![method];
        expect({ path, method, present: operation !== undefined }).toEqual({ path, method, present: true });
        expect(operation!.tags?.length).toBeGreaterThan(0);
        expect(operation!.security).toContainEqual({ bearer: [] });
      }
    }
  });

  it('documents the event streams as text/event-stream and the webhook bodies and answers', () => {
    for (const path of ['/streams/{streamId}/subscribe', '/all/subscribe']) {
      expect(Object.keys(doc.paths[path]!.get!.responses['200']?.content ?? {})).toEqual(['text/event-stream']);
    }
    const create = doc.paths['/subscriptions']!.post!;
    const body = resolve(create.requestBody?.content?.['application/json']?.schema);
    expect(body.required).toEqual(expect.arrayContaining(['name', 'url']));
    expect(jsonSchema(create, 201).properties).toHaveProperty('secret');
    expect(jsonSchema(doc.paths['/subscriptions/{name}']!.get!, 200).properties).toEqual(
      expect.objectContaining({
        checkpoint: expect.anything(),
        lag: expect.anything(),
        failed: expect.anything(),
        dead: expect.anything(),
      }),
    );
    expect(jsonSchema(doc.paths['/subscriptions/{name}']!.get!, 200).properties).not.toHaveProperty('secret');
    expect(resolve(create.responses['409']?.content?.['application/json']?.schema).properties).toHaveProperty('code');
  });

  it('declares the bearer security scheme', () => {
    expect(doc.components.securitySchemes?.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('documents the append body: AppendEvents with events required and expectedVersion as a oneOf of the names or an integer', () => {
    const append = doc.paths['/streams/{streamId}/events']!.post!;
    const body = append.requestBody?.content['application/json']?.schema;
    expect(body?.$ref).toBe('#/components/schemas/AppendEvents');
    const schema = resolve(body);
    expect(schema.required).toEqual(expect.arrayContaining(['events', 'expectedVersion']));

    const expectedVersion = schema.properties?.expectedVersion;
    expect(expectedVersion?.description).toEqual(expect.stringContaining('no_stream'));
    expect(expectedVersion?.oneOf).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'string', enum: ['any', 'no_stream', 'stream_exists'] }),
        expect.objectContaining({ type: 'integer' }),
      ]),
    );

    const events = schema.properties?.events;
    expect(events?.type).toBe('array');
    const event = resolve(events?.items);
    expect(event.required).toEqual(expect.arrayContaining(['eventType', 'data']));
    expect(event.required).not.toContain('eventId');
    expect(Object.keys(event.properties ?? {})).toEqual(
      expect.arrayContaining(['eventId', 'eventType', 'schemaVersion', 'data', 'metadata', 'causationId', 'correlationId']),
    );
  });

  it('documents the append result (201) and every error status of an append with the error body', () => {
    const append = doc.paths['/streams/{streamId}/events']!.post!;
    const created = jsonSchema(append, 201);
    expect(created.properties?.firstPosition).toMatchObject({ type: 'integer' });
    expect(created.required).toEqual(expect.arrayContaining(['streamId', 'fromVersion', 'toVersion', 'firstPosition', 'lastPosition']));

    const codes: Record<number, string[]> = {
      400: ['INVALID_ARGUMENT', 'UNKNOWN_EVENT_TYPE'],
      401: ['UNAUTHORIZED'],
      403: ['FORBIDDEN'],
      404: ['STREAM_NOT_FOUND'],
      409: ['WRONG_EXPECTED_VERSION', 'DUPLICATE_EVENT', 'APPEND_CONDITION_FAILED'],
      410: ['STREAM_DELETED'],
      422: ['EVENT_VALIDATION_FAILED', 'UNSUPPORTED_SCHEMA_VERSION'],
      503: ['STORE_UNAVAILABLE'],
      504: ['TIMEOUT'],
    };
    for (const [status, expected] of Object.entries(codes)) {
      const response = append.responses[status]?.content?.['application/json'];
      expect({ status, ref: response?.schema.$ref }).toEqual({ status, ref: '#/components/schemas/ErrorBody' });
      const examples = Object.values(response?.examples ?? {}).map((example) => example.value);
      expect(examples.map((example) => example.code).sort()).toEqual([...expected].sort());
      expect(examples.every((example) => example.statusCode === Number(status))).toBe(true);
    }
  });

  it('describes the error body: statusCode, code, message, details', () => {
    const error = doc.components.schemas.ErrorBody!;
    expect(error.required).toEqual(expect.arrayContaining(['statusCode', 'code', 'message', 'details']));
    expect(error.properties?.code).toMatchObject({ type: 'string' });
    expect(error.properties?.code?.description).toEqual(expect.stringContaining('WRONG_EXPECTED_VERSION'));
    expect(error.properties?.statusCode).toMatchObject({ type: 'integer' });
    expect(error.properties?.details).toMatchObject({ type: 'object' });
  });

  it('describes the read pages, the recorded event, stream info and the stream list', () => {
    const streamPage = jsonSchema(doc.paths['/streams/{streamId}/events']!.get!, 200);
    expect(streamPage.required).toEqual(expect.arrayContaining(['streamId', 'events', 'nextFromVersion']));
    expect(streamPage.properties?.nextFromVersion).toMatchObject({ type: 'integer', nullable: true });
    const event = resolve(streamPage.properties?.events?.items);
    expect(Object.keys(event.properties ?? {}).sort()).toEqual(
      [
        'causationId',
        'correlationId',
        'createdAt',
        'data',
        'eventId',
        'eventType',
        'globalPosition',
        'link',
        'metadata',
        'schemaVersion',
        'streamId',
        'streamVersion',
        'tags',
      ].sort(),
    );
    expect(event.properties?.createdAt).toMatchObject({ type: 'string', format: 'date-time' });
    expect(event.required).not.toContain('tags');
    expect(event.required).not.toContain('link');
    expect(event.properties?.tags).toMatchObject({ type: 'array', items: { type: 'string' } });
    const link = resolve(event.properties?.link?.$ref === undefined ? event.properties?.link?.allOf?.[0] : event.properties.link);
    expect(link.required).toEqual(expect.arrayContaining(['streamId', 'streamVersion', 'linkedAt']));

    const allPage = jsonSchema(doc.paths['/all/events']!.get!, 200);
    expect(allPage.required).toEqual(expect.arrayContaining(['events', 'nextFromPosition']));
    expect(allPage.properties?.events?.items?.$ref).toBe(streamPage.properties?.events?.items?.$ref);

    const info = jsonSchema(doc.paths['/streams/{streamId}']!.get!, 200);
    expect(Object.keys(info.properties ?? {}).sort()).toEqual(['createdAt', 'deleted', 'metadata', 'streamId', 'updatedAt', 'version']);
    const list = jsonSchema(doc.paths['/streams']!.get!, 200);
    expect(list.required).toEqual(expect.arrayContaining(['streams', 'nextAfter']));
    expect(resolve(list.properties?.streams?.items)).toBe(info);

    const remove = doc.paths['/streams/{streamId}']!.delete!;
    expect(Object.keys(remove.responses)).toEqual(expect.arrayContaining(['204', '404', '409']));
  });

  it('documents the query parameters with their enums and defaults', () => {
    const read = doc.paths['/streams/{streamId}/events']!.get!;
    const direction = read.parameters?.find((parameter) => parameter.name === 'direction');
    expect(direction).toMatchObject({ in: 'query', required: false, schema: { enum: ['forward', 'backward'], default: 'forward' } });
    expect(read.parameters?.map((parameter) => parameter.name)).toEqual(
      expect.arrayContaining(['streamId', 'direction', 'limit', 'fromVersion']),
    );

    const all = doc.paths['/all/events']!.get!;
    expect(all.parameters?.map((parameter) => parameter.name)).toEqual(
      expect.arrayContaining(['fromPosition', 'eventTypes', 'streamPrefix', 'tags', 'direction', 'limit']),
    );
    expect(doc.paths['/all/subscribe']!.get!.parameters?.map((parameter) => parameter.name)).toEqual(
      expect.arrayContaining(['fromPosition', 'eventTypes', 'streamPrefix', 'tags']),
    );

    const remove = doc.paths['/streams/{streamId}']!.delete!;
    expect(remove.parameters?.find((parameter) => parameter.name === 'mode')?.schema).toMatchObject({
      enum: ['soft', 'hard'],
      default: 'soft',
    });
    expect(remove.parameters?.find((parameter) => parameter.name === 'expectedVersion')?.schema).toMatchObject({ default: 'any' });
  });

  it('documents the multi-stream append, links, tags and append conditions', () => {
    const expectVersionOneOf = (schema: Schema | undefined): void => {
      expect(schema?.oneOf).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ enum: ['any', 'no_stream', 'stream_exists'] }),
          expect.objectContaining({ type: 'integer' }),
        ]),
      );
    };
    const conditionOf = (body: Schema): Schema => {
      const condition = body.properties?.condition;
      return resolve(condition?.$ref === undefined ? condition?.allOf?.[0] : condition);
    };
    const expectCondition = (condition: Schema): void => {
      expect(condition.required).toEqual(['failIfEventsMatch']);
      expect(Object.keys(resolve(condition.properties?.failIfEventsMatch?.items).properties ?? {}).sort()).toEqual(['eventTypes', 'tags']);
      expect(condition.properties?.after).toMatchObject({ type: 'integer' });
    };

    const multi = doc.paths['/append']!.post!;
    const body = resolve(multi.requestBody?.content['application/json']?.schema);
    expect(body.required).toEqual(['streams']);
    const entry = resolve(body.properties?.streams?.items);
    expect(entry.required).toEqual(expect.arrayContaining(['streamId', 'expectedVersion']));
    expect(entry.required).not.toContain('events');
    expectVersionOneOf(entry.properties?.expectedVersion);
    expect(entry.properties?.events?.items?.$ref).toBe('#/components/schemas/NewEvent');
    expectCondition(conditionOf(body));
    const results = jsonSchema(multi, 201);
    const result = resolve(results.properties?.streams?.items);
    expect(result.required).toEqual(expect.arrayContaining(['streamId', 'fromVersion', 'toVersion', 'firstPosition', 'lastPosition']));
    expect(result.properties?.firstPosition).toMatchObject({ type: 'integer', nullable: true });
    for (const status of ['400', '403', '404', '409', '410', '422']) {
      expect({ status, ref: multi.responses[status]?.content?.['application/json']?.schema.$ref }).toEqual({
        status,
        ref: '#/components/schemas/ErrorBody',
      });
    }

    const links = doc.paths['/streams/{streamId}/links']!.post!;
    const linkBody = resolve(links.requestBody?.content['application/json']?.schema);
    expect(linkBody.required).toEqual(expect.arrayContaining(['expectedVersion', 'eventIds']));
    expectVersionOneOf(linkBody.properties?.expectedVersion);
    expect(linkBody.properties?.eventIds).toMatchObject({ type: 'array', items: { type: 'string', format: 'uuid' } });
    expectCondition(conditionOf(linkBody));
    expect(jsonSchema(links, 201)).toBe(result);
    const conflicts = Object.values(links.responses['409']?.content?.['application/json']?.examples ?? {}).map(
      (example) => example.value.code,
    );
    expect(conflicts).toContain('APPEND_CONDITION_FAILED');

    const append = resolve(doc.paths['/streams/{streamId}/events']!.post!.requestBody?.content['application/json']?.schema);
    expect(append.required).not.toContain('condition');
    expectCondition(conditionOf(append));
    expect(resolve(append.properties?.events?.items).properties?.tags).toMatchObject({ type: 'array', items: { type: 'string' } });
    expect(doc.components.schemas.WebhookFilter?.properties).toHaveProperty('tags');
  });

  it('references no schema it does not define', () => {
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((match) => match[1]!);
    expect(refs.length).toBeGreaterThan(0);
    for (const name of new Set(refs)) {
      expect(doc.components.schemas).toHaveProperty([name]);
    }
    expect(doc.components.schemas).not.toHaveProperty(['Object']);
  });
});
