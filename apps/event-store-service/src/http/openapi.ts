import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** The OpenAPI document of the service: the UI at `/docs`, the JSON at `/docs-json`. */
export function setUpOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Game-bot event store')
    .setDescription(
      'Streams, $all, health and metrics of the event store. Every error answers the `ErrorBody` `{ statusCode, code, message, details }`: switch on its stable `code`.',
    )
    .setVersion('0.1.0')
    .addBearerAuth({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'opaque token',
      description:
        '`Authorization: Bearer <token>`, the tokens and their roles set by `EVENT_STORE_TOKENS`. Roles: `read` (reads), `write` (also appends and metadata), `admin` (also deletes). Without any token configured (development) every route is open; health and metrics are open unless `PUBLIC_HEALTH_AND_METRICS=false`.',
    })
    .addTag('streams', 'Append to, read, inspect, list and delete streams; stream metadata.')
    .addTag('all', '`$all`: every event of every stream, in global order, with filters.')
    .addTag('health', 'Terminus health: liveness and readiness.')
    .addTag('metrics', 'Prometheus metrics.')
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, config), { jsonDocumentUrl: 'docs-json' });
}
