import { ArgumentsHost, ContextType, ExecutionContext, Type } from '@nestjs/common';

type HttpArgumentsHost = ReturnType<ArgumentsHost['switchToHttp']>;
type RpcArgumentsHost = ReturnType<ArgumentsHost['switchToRpc']>;
type WsArgumentsHost = ReturnType<ArgumentsHost['switchToWs']>;

/**
 * Internal: the `http` ExecutionContext of a request seen by a middleware, for the authentication
 * the GraphQL middleware runs once per request (`switchToHttp().getRequest()` is the request; there
 * is no handler or class yet).
 */
export class RequestExecutionContext implements ExecutionContext {
  private readonly args: unknown[];

  constructor(request: unknown, response: unknown) {
    this.args = [request, response];
  }

  getClass<T = unknown>(): Type<T> {
    return undefined as unknown as Type<T>;
  }

  getHandler(): () => void {
    return undefined as unknown as () => void;
  }

  getArgs<T extends unknown[] = unknown[]>(): T {
    return this.args as T;
  }

  getArgByIndex<T = unknown>(index: number): T {
    return this.args[index] as T;
  }

  getType<T extends string = ContextType>(): T {
    return 'http' as T;
  }

  switchToHttp(): HttpArgumentsHost {
    return {
      getRequest: <T>() => this.args[0] as T,
      getResponse: <T>() => this.args[1] as T,
      getNext: <T>() => undefined as T,
    };
  }

  switchToRpc(): RpcArgumentsHost {
    return { getContext: <T>() => undefined as T, getData: <T>() => undefined as T };
  }

  switchToWs(): WsArgumentsHost {
    return {
      getClient: <T>() => undefined as T,
      getData: <T>() => undefined as T,
      getPattern: () => '',
    };
  }
}
