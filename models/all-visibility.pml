/*
 * $all visibility: the reader's rule of read-all.sql.ts, checked against every interleaving of
 * NW writer transactions (docs/design.md, "The global order ($all) without a global lock").
 *
 * Abstraction
 *  - A writer transaction gets its transaction id (xid8) when it first writes (the UPDATE of its
 *    stream row, before any event is inserted): ids increase in the order transactions get them.
 *  - Each event it inserts draws a global position from a sequence (not transactional): positions
 *    interleave with transaction ids in any order, and an event stays uncommitted until its
 *    transaction commits (or rolls back: its positions are then gaps). Writer 0 appends MULTI
 *    events (its positions need not be contiguous: other sessions draw in between).
 *  - Commit and rollback are atomic for snapshots (the ProcArray), in any order.
 *  - A read is one statement: its snapshot, the xmin of that snapshot (pg_snapshot_xmin of
 *    pg_current_snapshot(): the smallest xid still running, or the next xid if none) and the rows
 *    it returns are taken at one instant (one d_step). It returns up to `lim` rows (LIMIT: 1 or
 *    PAGE, chosen anew for each read) strictly after the cursor, in the reader's order.
 *  - The cursor is the pair (transaction_id, global_position) of the last row read. The store
 *    keeps the position and resolves its transaction id from `events` (or
 *    `hard_deleted_positions`): same pair, so the model keeps the pair.
 *
 * Property (assertions + end state), for the reader's order (fixed: (transaction_id, position)):
 *  P1 no repeat: a row is never returned twice;
 *  P2 one order: rows come in strictly increasing order;
 *  P3 no skip: when a row is returned, no committed row before it in that order is unread;
 *  P4 eventually all, exactly once: once every writer has ended and a read returns nothing new,
 *     every committed event was read exactly once and no rolled-back one ever.
 *
 * Variants (-D):
 *  BROKEN_POSITION_READER  "position > last position seen ORDER BY position", no xmin rule:
 *                          the bug every PostgreSQL event store met. Must fail (skips an event).
 *  BROKEN_CURSOR_POSITION  the xmin rule and the (transaction_id, position) order, but "after the
 *                          cursor" compared on the position alone (the cursor not resolved to
 *                          its pair). Must fail (skips an event).
 *  NW=4, MULTI=1, PAGE=..., NO_ABORT: sizes.
 */

#ifndef NW
#define NW 3
#endif
#ifndef MULTI
#define MULTI 2
#endif
#ifndef PAGE
#define PAGE 2
#endif
#define NPOS (NW + MULTI - 1)

#define PENDING   1
#define COMMITTED 2
#define ABORTED   3

byte next_xid = 1;        /* the next transaction id to hand out */
byte seq = 0;             /* the global position sequence: last value drawn */
byte txid[NW];            /* writer i's transaction id (0: not assigned yet) */
bool running[NW];         /* has an xid and has not ended */
byte ended = 0;           /* writers that committed or rolled back */

/* the events table, by global position (1..NPOS) */
byte rxid[NPOS + 1];      /* transaction_id */
byte rstate[NPOS + 1];    /* 0 not drawn, PENDING, COMMITTED, ABORTED */
byte nread[NPOS + 1];     /* how many times the reader got it */

#ifdef BROKEN_POSITION_READER
  /* ORDER BY global_position; after the cursor: global_position > last seen */
  #define BEFORE(x1, p1, x2, p2) ((p1) < (p2))
  #define AFTER_CURSOR(q)        ((q) > cp)
  #define BELOW_XMIN(q)          true
#else
  /* ORDER BY transaction_id, global_position */
  #define BEFORE(x1, p1, x2, p2) ((x1) < (x2) || ((x1) == (x2) && (p1) < (p2)))
  #define BELOW_XMIN(q)          (rxid[q] < xmin)
  #ifdef BROKEN_CURSOR_POSITION
    #define AFTER_CURSOR(q)      ((q) > cp)
  #else
    /* (e.transaction_id, e.global_position) > (c.transaction_id, $1) */
    #define AFTER_CURSOR(q)      BEFORE(cx, cp, rxid[q], q)
  #endif
#endif

/* a row the read returns: committed (visible in the snapshot), below xmin, after the cursor */
#define VISIBLE(q) (rstate[q] == COMMITTED && BELOW_XMIN(q) && AFTER_CURSOR(q))

proctype writer(byte i)
{
  byte k = 0;
  byte p;
  /* the first write (UPDATE streams ...) assigns the transaction id */
  d_step {
    txid[i] = next_xid; next_xid++; running[i] = true;
    printf("T%d: BEGIN, first write: xid %d\n", i, txid[i])
  }
  do
  :: k < (i == 0 -> MULTI : 1) ->
     /* INSERT INTO events ...: nextval() of the position sequence, the row not committed yet */
     d_step {
       seq++; p = seq; rxid[p] = txid[i]; rstate[p] = PENDING; k++;
       printf("T%d: inserts an event at position %d (xid %d)\n", i, p, txid[i]);
       p = 0
     }
  :: else -> break
  od;
  k = 0;
  if
  :: d_step {   /* COMMIT */
       for (p : 1 .. NPOS) { if :: rxid[p] == txid[i] -> rstate[p] = COMMITTED :: else fi };
       p = 0; running[i] = false; ended++;
       printf("T%d: COMMIT (xid %d)\n", i, txid[i])
     }
#ifndef NO_ABORT
  :: d_step {   /* ROLLBACK (a failed append: its positions are never used) */
       for (p : 1 .. NPOS) { if :: rxid[p] == txid[i] -> rstate[p] = ABORTED :: else fi };
       p = 0; running[i] = false; ended++;
       printf("T%d: ROLLBACK (xid %d)\n", i, txid[i])
     }
#endif
  fi
}

active proctype reader()
{
  byte cx = 0, cp = 0;    /* cursor: (transaction_id, position) of the last row read; (0, 0): the start */
  byte xmin, lim, got, best, q;
  bool all_ended, first = true;

  do
  :: if :: lim = 1 :: lim = PAGE fi;
     d_step {
       all_ended = (ended == NW);
       /* pg_snapshot_xmin(pg_current_snapshot()): the oldest xid still running, else the next */
       xmin = next_xid;
       for (q : 0 .. NW - 1) { if :: running[q] && txid[q] < xmin -> xmin = txid[q] :: else fi };
       printf("reader: snapshot xmin %d, cursor (xid %d, position %d), LIMIT %d\n", xmin, cx, cp, lim);
       got = 0;
       best = 1;                /* anything but 0: go on */
       do
       :: got < lim && best != 0 ->
          best = 0;
          for (q : 1 .. NPOS) {
            if
            :: VISIBLE(q) && (best == 0 || BEFORE(rxid[q], q, rxid[best], best)) -> best = q
            :: else
            fi
          };
          if
          :: best != 0 ->
             printf("reader:   gets (xid %d, position %d)\n", rxid[best], best);
             if                                                        /* P1 no repeat */
             :: nread[best] != 0 -> printf("REPEAT: position %d read again\n", best); assert(false)
             :: else
             fi;
             if                                                        /* P2 one order */
             :: !(first || BEFORE(cx, cp, rxid[best], best)) ->
                printf("OUT OF ORDER: position %d after position %d\n", best, cp); assert(false)
             :: else
             fi;
             for (q : 1 .. NPOS) {                                     /* P3 no skip */
               if
               :: q != best && rstate[q] == COMMITTED && nread[q] == 0 && BEFORE(rxid[q], q, rxid[best], best) ->
                  printf("SKIPPED: position %d (xid %d) is committed, unread, and before position %d: the cursor passed it\n",
                         q, rxid[q], best);
                  assert(false)
               :: else
               fi
             };
             nread[best]++;
             cx = rxid[best]; cp = best; first = false;
             got++
          :: else
          fi
       :: else -> break
       od;
       xmin = 0; lim = 0; best = 0; q = 0
     };
     if
     :: all_ended && got == 0 -> break   /* caught up after the last writer ended */
     :: else -> got = 0
     fi
  od;
  skip;   /* (a break may not jump straight into a d_step) */
  /* P4: every committed event read exactly once, no rolled-back one */
  d_step {
    for (q : 1 .. NPOS) {
      if
      :: rstate[q] == COMMITTED && nread[q] != 1 ->
         printf("SKIPPED: position %d (xid %d) committed, read %d times\n", q, rxid[q], nread[q]); assert(false)
      :: rstate[q] == ABORTED && nread[q] != 0 ->
         printf("READ A ROLLED-BACK EVENT: position %d\n", q); assert(false)
      :: else
      fi
    };
    printf("reader: done, every committed event read exactly once\n")
  }
}

init
{
  byte i;
  atomic { for (i : 0 .. NW - 1) { run writer(i) } }
}
