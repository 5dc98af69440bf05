import { ApolloDriver, ApolloDriverConfig } from '@nestjs/apollo';
import { contextStatementFromEnv } from '@app/demo-kit';
import {
  INestApplication,
  Module,
  NotFoundException,
  ParseUUIDPipe,
  DynamicModule,
} from '@nestjs/common';
import {
  Args,
  Context,
  Field,
  GraphQLModule,
  ID,
  Int,
  Mutation,
  ObjectType,
  Parent,
  Query,
  ResolveField,
  Resolver,
} from '@nestjs/graphql';
import { InjectDataSource, TypeOrmModule } from '@nestjs/typeorm';
import DataLoader from 'dataloader';
import { DataSource, In } from 'typeorm';
import {
  createTenancyDataSource,
  CurrentTenant,
  Roles,
  TenancyModule,
  TenantScoped,
} from '@app/tenancy';
import { TenancyGraphQLModule, TenantGraphQLPlugin } from '@app/tenancy/graphql';
import { createHttpApp, HttpAdapterName, initHttpApp } from '../support/http-adapter';
import { NOTES_SECRET } from '../tenancy/fixtures/notes.app';
import { Note, NoteTag } from '../tenancy/fixtures/notes.entities';

/** The path the fixture serves GraphQL on. */
export const NOTES_GRAPHQL_PATH = '/graphql';

/** The statement each resolver and loader batch sends to report the transaction it runs in. */
const TX_SQL = `SELECT txid_current()::text AS tx, current_setting('app.tenant_id', true) AS tenant,
  current_setting('transaction_read_only') AS "readOnly"`;

/** The transaction (txid) a resolver's statement ran in, and the tenant setting it saw. */
@ObjectType('Tx')
export class TxModel {
  @Field()
  tx: string;

  @Field()
  tenant: string;

  /** `on` in a read-only transaction. */
  @Field()
  readOnly: string;
}

/** What the tag loader's batch saw: its transaction and how many note ids it loaded at once. */
@ObjectType('Batch')
export class BatchModel extends TxModel {
  @Field(() => Int)
  size: number;
}

/** A note's tag, loaded by the per-request DataLoader. */
@ObjectType('Tag')
export class TagModel {
  @Field(() => ID)
  id: string;

  @Field()
  label: string;

  @Field(() => BatchModel)
  batch: BatchModel;
}

/** A note of the caller's tenant. */
@ObjectType('Note')
export class NoteModel {
  @Field(() => ID)
  id: string;

  @Field()
  title: string;

  static from(note: Note): NoteModel {
    return { id: note.id, title: note.title };
  }
}

/** The per-request DataLoaders of the GraphQL context. */
export interface NotesLoaders {
  /** The tags of each note id, one query per batch. */
  tags: DataLoader<string, TagModel[]>;
}

/** The GraphQL context of the fixture. */
export interface NotesGraphQLContext {
  loaders: NotesLoaders;
}

async function currentTx(ds: DataSource): Promise<TxModel> {
  const [row] = await ds.query<TxModel[]>(TX_SQL);
  return row;
}

/** Makes one request's loaders; each batch also reports the transaction it ran in. */
export function createLoaders(ds: DataSource): NotesLoaders {
  return {
    tags: new DataLoader(async (noteIds) => {
      const batch = { ...(await currentTx(ds)), size: noteIds.length };
      const tags = await ds.getRepository(NoteTag).find({
        where: { noteId: In([...noteIds]) },
        order: { label: 'ASC' },
      });
      return noteIds.map((id) =>
        tags.filter((t) => t.noteId === id).map((t) => ({ id: t.id, label: t.label, batch })),
      );
    }),
  };
}

/** Answers without a tenant: a public field beside the tenant-scoped ones. */
@Resolver()
export class PublicResolver {
  @Query(() => String)
  ping(): string {
    return 'pong';
  }
}

/** Notes over GraphQL, every field in the request's one tenant transaction. */
@TenantScoped()
@Resolver(() => NoteModel)
export class NotesResolver {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  /** The transaction of the root field. */
  @Query(() => TxModel, { nullable: true })
  probe(): Promise<TxModel> {
    return currentTx(this.ds);
  }

  /** The tenant's notes, by title. */
  @Query(() => [NoteModel], { nullable: true })
  async notes(): Promise<NoteModel[]> {
    const notes = await this.ds.getRepository(Note).find({ order: { title: 'ASC' } });
    return notes.map((n) => NoteModel.from(n));
  }

  /** One note; null + NOT_FOUND when the caller's tenant has none with this id. */
  @Query(() => NoteModel, { nullable: true })
  async note(@Args('id', { type: () => ID }, new ParseUUIDPipe()) id: string): Promise<NoteModel> {
    const note = await this.ds.getRepository(Note).findOneBy({ id });
    if (!note) throw new NotFoundException('note not found');
    return NoteModel.from(note);
  }

  /** A query that writes (a note titled `title`): refused when queries run read-only. */
  @Query(() => Boolean, { nullable: true })
  async writingQuery(
    @CurrentTenant('tenantId') tenantId: string,
    @Args('title') title: string,
  ): Promise<boolean> {
    const repo = this.ds.getRepository(Note);
    await repo.insert({ tenantId, title });
    return true;
  }

  /** Adds a note to the caller's tenant (any role). */
  @Mutation(() => NoteModel, { nullable: true })
  async addNote(
    @CurrentTenant('tenantId') tenantId: string,
    @Args('title') title: string,
  ): Promise<NoteModel> {
    const repo = this.ds.getRepository(Note);
    return NoteModel.from(await repo.save(repo.create({ tenantId, title })));
  }

  /** Adds a tag to a note: a note id the tenant does not have fails with a foreign key violation. */
  @Mutation(() => ID, { nullable: true })
  async addTag(
    @CurrentTenant('tenantId') tenantId: string,
    @Args('noteId', { type: () => ID }, new ParseUUIDPipe()) noteId: string,
    @Args('label') label: string,
  ): Promise<string> {
    const saved = await this.ds.getRepository(NoteTag).save({ tenantId, noteId, label });
    return saved.id;
  }

  /** Deletes a note (admins only); NOT_FOUND when the tenant has none with this id. */
  @Roles('admin')
  @Mutation(() => Boolean, { nullable: true })
  async deleteNote(
    @Args('id', { type: () => ID }, new ParseUUIDPipe()) id: string,
  ): Promise<boolean> {
    const { affected } = await this.ds.getRepository(Note).delete({ id });
    if (!affected) throw new NotFoundException('note not found');
    return true;
  }

  /** The transaction of this field resolver. */
  @ResolveField(() => TxModel)
  tx(): Promise<TxModel> {
    return currentTx(this.ds);
  }

  /** The note's tags, batched per request. */
  @ResolveField(() => [TagModel])
  tags(@Parent() note: NoteModel, @Context() { loaders }: NotesGraphQLContext) {
    return loaders.tags.load(note.id);
  }
}

/** The field resolvers of a tag. */
@TenantScoped()
@Resolver(() => TagModel)
export class TagsResolver {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  /** The transaction of this field resolver, after the loader's batch. */
  @ResolveField(() => TxModel)
  tx(): Promise<TxModel> {
    return currentTx(this.ds);
  }
}

/** Options of the GraphQL fixture app. */
export interface NotesGraphQLAppOptions {
  databaseUrl: string;
  adapter: HttpAdapterName;
  /** TenancyGraphQLModule's `readOnlyQueries`. Default: not set. */
  readOnlyQueries?: boolean;
}

/** The wiring of libs/tenancy/docs/transports.md (GraphQL), over the notes tables of the library suites. */
@Module({})
class NotesGraphQLAppModule {
  static forRoot(o: NotesGraphQLAppOptions): DynamicModule {
    return {
      module: NotesGraphQLAppModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({
            type: 'postgres' as const,
            url: o.databaseUrl,
            entities: [Note, NoteTag],
            extra: { max: 5 },
          }),
          dataSourceFactory: createTenancyDataSource,
        }),
        TenancyModule.forRoot({
          jwt: { secret: NOTES_SECRET },
          roles: ['member', 'admin'],
          contextStatement: contextStatementFromEnv(),
          catalogCheck: { schemas: ['tenancy', 'support', 'sales', 'lib_test'] },
        }),
        TenancyGraphQLModule.forRoot({
          path: NOTES_GRAPHQL_PATH,
          readOnlyQueries: o.readOnlyQueries,
        }),
        GraphQLModule.forRootAsync<ApolloDriverConfig>({
          driver: ApolloDriver,
          inject: [TenantGraphQLPlugin, DataSource],
          useFactory: (tenancy: TenantGraphQLPlugin, ds: DataSource) => ({
            path: NOTES_GRAPHQL_PATH,
            autoSchemaFile: true,
            sortSchema: true,
            graphiql: false,
            plugins: [tenancy],
            formatError: tenancy.formatError,
            includeStacktraceInErrorResponses: false,
            context: (): NotesGraphQLContext => ({ loaders: createLoaders(ds) }),
          }),
        }),
      ],
      providers: [PublicResolver, NotesResolver, TagsResolver],
    };
  }
}

/** Boots the GraphQL fixture app on `adapter` (initialised, not listening). */
export async function createNotesGraphQLApp(o: NotesGraphQLAppOptions): Promise<INestApplication> {
  const app = await createHttpApp(NotesGraphQLAppModule.forRoot(o), o.adapter, {
    logger: false,
    abortOnError: false,
  });
  try {
    await initHttpApp(app);
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
  return app;
}
