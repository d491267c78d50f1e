import { DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { dataSourceOptions } from './data-source-options.js';
import { TransactionRunner } from './transaction.js';

/** The URL actually in use: DATABASE_URL, or the embedded server's. */
export const DATABASE_URL = Symbol('DATABASE_URL');

@Global()
@Module({})
export class DatabaseModule {
  static forRoot(url: string, poolSize?: number): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [TypeOrmModule.forRoot({ ...dataSourceOptions(url, poolSize), autoLoadEntities: false })],
      providers: [{ provide: DATABASE_URL, useValue: url }, TransactionRunner],
      exports: [DATABASE_URL, TransactionRunner],
    };
  }
}
