import { type CallHandler, type ExecutionContext, Inject, Injectable, type NestInterceptor } from '@nestjs/common';
import type { Request, Response } from 'express';
import { type Observable, finalize } from 'rxjs';
import { MetricsService } from './metrics.service.js';

/** Times every HTTP request by method, route pattern (not the raw path: no stream ids in labels) and status. */
@Injectable()
export class HttpMetricsInterceptor implements NestInterceptor {
  constructor(@Inject(MetricsService) private readonly metrics: MetricsService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    const stop = this.metrics.httpSeconds.startTimer();
    return next.handle().pipe(
      finalize(() => {
        // The status is final once the response is sent (errors are set by the exception filter).
        response.once('finish', () =>
          stop({ method: request.method, route: (request.route as { path?: string } | undefined)?.path ?? 'unknown', status: String(response.statusCode) }),
        );
      }),
    );
  }
}
