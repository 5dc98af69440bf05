import { ObjectLiteral, QueryRunner } from 'typeorm';
import { RelationMetadata } from 'typeorm/metadata/RelationMetadata';
import { RelationLoader } from 'typeorm/query-builder/RelationLoader';

type LazyEntity = ObjectLiteral & Record<string, unknown>;

/**
 * TypeORM's RelationLoader with one difference: the promise a lazy relation returns is the same,
 * but the loader's own bookkeeping on it (storing the loaded value on the entity) handles a
 * rejection. TypeORM chains `.then(store)` without a rejection handler, so a lazy load that fails
 * (in a tenant scope: one awaited after the scope ended, which is refused) becomes an unhandled
 * rejection that ends the process under Node's default `--unhandled-rejections=throw`, even when
 * the caller catches its own promise. The caller's promise still rejects with the error.
 *
 * Same property names and behaviour as TypeORM 0.3 and 1.x (`__name__`, `__promise_name__`,
 * `__has_name__`), which the rest of TypeORM reads.
 */
export class TenantRelationLoader extends RelationLoader {
  override enableLazyLoad(
    relation: RelationMetadata,
    entity: ObjectLiteral,
    queryRunner?: QueryRunner,
  ): void {
    const load = (target: LazyEntity) =>
      this.load(relation, target, queryRunner) as Promise<unknown[]>;
    const dataIndex = `__${relation.propertyName}__`;
    const promiseIndex = `__promise_${relation.propertyName}__`;
    const resolveIndex = `__has_${relation.propertyName}__`;
    const setData = (target: LazyEntity, value: unknown) => {
      target[dataIndex] = value;
      target[resolveIndex] = true;
      delete target[promiseIndex];
      return value;
    };
    const setPromise = (target: LazyEntity, value: Promise<unknown>) => {
      delete target[resolveIndex];
      delete target[dataIndex];
      target[promiseIndex] = value;
      value.then(
        (result) => (target[promiseIndex] === value ? setData(target, result) : result),
        () => undefined, // the caller's promise carries the error
      );
      return value;
    };
    Object.defineProperty(entity, relation.propertyName, {
      get(this: LazyEntity) {
        if (this[resolveIndex] === true || this[dataIndex] !== undefined) {
          return Promise.resolve(this[dataIndex]);
        }
        if (this[promiseIndex]) return this[promiseIndex];
        const loading = load(this).then((result) =>
          relation.isOneToOne || relation.isManyToOne
            ? result.length === 0
              ? null
              : result[0]
            : result,
        );
        return setPromise(this, loading);
      },
      set(this: LazyEntity, value: unknown) {
        if (value instanceof Promise) void setPromise(this, value);
        else setData(this, value);
      },
      configurable: true,
      enumerable: false,
    });
  }
}
