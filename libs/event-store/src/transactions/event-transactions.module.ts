import { Module } from '@nestjs/common';
import { EventStorageModule } from '../storage/event-storage.module.js';
import { EventSubscriptionsModule } from '../subscriptions/event-subscriptions.module.js';
import { TransactionRunner } from './transaction-runner.js';

/**
 * The caller's transactions: the {@link TransactionRunner} behind `store.transaction`, which the
 * projections run their batches with too. Above storage (the session, the appends' SQL) and
 * subscriptions (subscribers are woken after the commit).
 */
@Module({
  imports: [EventStorageModule, EventSubscriptionsModule],
  providers: [TransactionRunner],
  exports: [TransactionRunner],
})
export class EventTransactionsModule {}
