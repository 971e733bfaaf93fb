/*
 * The lease of one persistent subscription (docs/subscriptions.md, subscription-lease.ts,
 * subscription-runner.ts, storage/sql/subscriptions.sql.ts): runners compete for the one row
 * (owner, lease_until) of the subscription's name.
 *
 * Abstraction
 *  - Time: the database clock, in ticks of one second; it is also real time. A lease lasts
 *    L = 3 ticks; a holder renews once per tick (every second). The model keeps time relative
 *    (ticks left on the lease and on each deadline), so runs of any length are covered.
 *  - Timing assumption (what the store relies on): the clock does not pass a tick while a live
 *    holder has not sent its renewal for that tick (the renewal timer fires on time). Once per run
 *    the clock may JUMP by L ticks regardless: one process was paused, or its timer fired late, for
 *    a whole lease (a GC or VM pause, an event loop blocked by a handler). -DNO_SYNC drops the
 *    assumption altogether (any runner can be delayed any number of ticks).
 *  - The row: `owner` (0 = NULL, else an owner string), `lease_until`. Each statement on it is a
 *    conditional UPDATE, atomic (PostgreSQL takes the row lock and re-checks the WHERE clause):
 *      acquire: WHERE owner IS NULL OR owner = me OR lease_until < now()  -> owner = me, until = now + L
 *      renew:   WHERE owner = me AND lease_until > now()                  -> until = now + L
 *      release: WHERE owner = me                                         -> owner = NULL
 *    A renewal may also fail without an answer (connection error, timeout): it reached the
 *    database or not, and the runner does not know (-DNO_RENEW_ERRORS: never).
 *  - Runners: A and B in process P (B is a second subscription of the same name in the same
 *    process), C in process Q. A runner stands by (tries to acquire), delivers events one at a
 *    time while it believes it holds the lease, renews, hands the lease back (to a process that
 *    holds fewer, or on unsubscribe) and may leave (unsubscribe). SIGKILL of a process (once, P or
 *    Q) stops its runners at once; its row stays as it was until the lease lapses.
 *  - Belief: a runner starts an event only while it believes it holds the lease: its last
 *    acquisition or renewal was answered "held", none since answered "lost", it has not begun to
 *    hand back, and its own deadline has not passed: the time it sent that renewal + L, on its
 *    monotonic clock (a wall-clock step on the process changes nothing, so it is not modelled).
 *  - Checkpoints are not modelled (only the lease is): the checkpoint is written by the same
 *    conditional renew/release statements, so it has the same owner check.
 *
 * Property (LTL `lease`): never two runners delivering at the same time beyond the documented
 * window. A runner "holds" the lease when the row is owned, lease_until > now, and the runner
 * made the acquisition that gave the row its current lease (ghost `holder`: this tells apart two
 * runners that share an owner string). Ghost `sh[r]`: the event runner r is delivering was
 * started while r held the lease. The window: a runner whose lease lapsed (or was handed back)
 * may finish the ONE event it had in hand, `win(r)` = delivering, started holding, holds no
 * longer. For every pair of runners r, s:
 *   [] ( (deliv[r] && deliv[s]) -> (sh[r] && sh[s] && (win(r) || win(s))) )
 * i.e. two deliver at once only when both started their event while holding the lease and one
 * of them has since lost it: that one is finishing the event in hand. An event started without
 * the lease, overlapping another runner's, violates it: so the window holds exactly one event.
 *
 * Variants (-D):
 *  (fixed)                     a second subscription of a name already running in the process is
 *                              refused (per-process registry, SubscriptionManager.assertFree):
 *                              B never runs beside A; it may run once A has stopped.
 *  RUNNER_IDENTITY             the other fix: B runs, with an owner string of its own.
 *  BROKEN_SAME_OWNER           (a) B runs with A's owner string, acquisition checks only owner = me:
 *                              B "re-acquires" the lease A holds. Must fail.
 *  BROKEN_RENEW_UNCONDITIONAL  (b) the renewal writes lease_until whatever the row says
 *                              (UPDATE ... WHERE name = $1) and reports "held". Must fail.
 *  RENEW_NO_UNTIL              the renewal checks owner = me but not lease_until > now(), as
 *                              renewLeaseSql does.
 *  CODE_BELIEF                 the belief of subscription-lease.ts before the deadline: none (only
 *                              the `lost` flag, set when a renewal answers "lost"), and a renewal
 *                              without an answer counts as held.
 *  HANDBACK_LATE               hand-back as it was: the release is sent first and the runner
 *                              stops starting events only when it is answered.
 *  RESET_WHILE_RUNNING         resetSubscription(..., { whileRunning: true }) as it was: clears owner
 *                              and lease time while a runner holds it, and a row without owner
 *                              could be acquired at once; the runner learns of it at its next renewal.
 *  RESET_KEEPS_LEASE           the reset as it is: the owner cleared, the lease time kept, and a row
 *                              is acquired only once its time has passed (or by its owner).
 *  WINDOW_PROBE                checks instead that the window is reached (must fail).
 *  NO_JUMP, NO_SYNC, NO_KILL, NO_RENEW_ERRORS: the scenario.
 */

#define L 3              /* lease: 3 s */
#define J L              /* the jump: one pause as long as a lease */
#define NOBODY 255

#define P_ID 1           /* owner string of process P: host:pid:tag */
#define Q_ID 2           /* owner string of process Q */
#define B_ID 3           /* B's own owner string (RUNNER_IDENTITY) */

byte owner = 0;          /* subscriptions.owner; 0 = NULL */
byte lu = 0;             /* lease_until, relative: 0 lapsed (lease_until < now()),
                            1 ends now (= now()), k >= 2 valid (lease_until = now() + k - 1) */
byte holder = NOBODY;    /* ghost: the runner whose acquisition gave the row its lease */

bool deliv[3];           /* runner r is inside a handler call */
bool sh[3];              /* ghost: that event was started while r held the lease */
bool bel[3];             /* r believes it holds the lease */
bool hand[3];            /* r is handing the lease back */
bool renewed[3];         /* r has sent its renewal (or acquired) in this tick */
byte dl[3];              /* r's deadline, ticks left: sent-time of its last renewal answered "held" + L */
bool live[3];            /* r runs (registered, not refused, not ended, not killed) */
byte registered[2];      /* per process: runners of the name running (the registry) */
bool killed[2];
bool jumped = false;

#ifdef RESET_KEEPS_LEASE
/* a reset clears the owner but not the lease's time: that time is still the last holder's, and
   no runner may acquire before it has passed */
#define hold(r)    (holder == r && lu >= 2)
#else
#define hold(r)    (owner != 0 && holder == r && lu >= 2)
#endif
#define win(r)     (deliv[r] && sh[r] && !hold(r))
/* runners r and s deliver at once only within the window: both started their event holding the
   lease, and (at least) one of them holds it no longer */
#define ok2(r, s)  (!(deliv[r] && deliv[s]) || (sh[r] && sh[s] && (win(r) || win(s))))

#ifdef WINDOW_PROBE
/* not a property: a probe that the window is reached (must fail: two runners deliver at once,
   one of them finishing the event it had in hand while the other holds the lease) */
#define cur(r)     (deliv[r] && hold(r))
ltl window { [] !((win(0) || win(1) || win(2)) && (cur(0) || cur(1) || cur(2))) }
#else
ltl lease { [] (ok2(0, 1) && ok2(0, 2) && ok2(1, 2)) }
#endif

#ifdef BROKEN_RENEW_UNCONDITIONAL
  #define RENEW_COND true
#elif defined(RENEW_NO_UNTIL)
  #define RENEW_COND (owner == id)
#else
  #define RENEW_COND (owner == id && lu >= 2)
#endif

#ifdef RESET_WHILE_RUNNING
/* acquireLeaseSql before: a row without owner was free whatever its lease time */
#define ACQUIRE_COND (owner == 0 || owner == id || lu == 0)
#else
/* acquireLeaseSql: owner = me OR lease_until IS NULL OR lease_until < now(); a release clears
   both owner and time (lu = 0), a reset only the owner */
#define ACQUIRE_COND (owner == id || lu == 0)
#endif

#ifdef CODE_BELIEF
  #define DEADLINE_OK true
#else
  #define DEADLINE_OK (dl[me] > 0)
#endif

#ifdef HANDBACK_LATE
  #define NOT_HANDING true
#else
  #define NOT_HANDING (!hand[me])
#endif

proctype runner(byte me; byte pr; byte id)
{
  bool refused = false;
  byte ok = 0;

  /* subscribe: the registry of the process */
  atomic {
    !killed[pr];
#if defined(BROKEN_SAME_OWNER) || defined(RUNNER_IDENTITY)
    registered[pr]++; live[me] = true
#else
    if
    :: registered[pr] > 0 -> refused = true;
       printf("runner %c: refused, the name already runs in this process\n", 65 + me)
    :: else -> registered[pr]++; live[me] = true
    fi
#endif
  };
  if
  :: refused -> goto done
  :: else -> skip
  fi;

  do
  /* standing by: acquire (acquireLeaseSql) */
  :: atomic {
       !bel[me] && !hand[me] ->
       if
       :: ACQUIRE_COND ->
          owner = id; lu = L + 1; holder = me;
          bel[me] = true; renewed[me] = true; dl[me] = L;
          printf("runner %c (owner %d): ACQUIRES, lease for %d ticks\n", 65 + me, id, L)
       :: else -> skip
       fi
     }

  /* deliver: start one event, only while it believes it holds the lease */
  :: atomic {
       bel[me] && !deliv[me] && DEADLINE_OK && NOT_HANDING ->
       deliv[me] = true; sh[me] = hold(me);
       if
       :: sh[me] -> printf("runner %c: starts an event\n", 65 + me)
       :: else -> printf("runner %c: starts an event WITHOUT HOLDING THE LEASE\n", 65 + me)
       fi
     }
  :: atomic { deliv[me] -> deliv[me] = false; sh[me] = false; printf("runner %c: event done\n", 65 + me) }

  /* renew (renewLeaseSql), once per tick, timers stopped while handing back */
  :: atomic {
       bel[me] && !hand[me] && !renewed[me] ->
       renewed[me] = true;
       /* the outcome: answered (1), applied but no answer (2), never reached the database (3) */
#ifdef NO_RENEW_ERRORS
       ok = 1;
#else
       if :: ok = 1 :: ok = 2 :: ok = 3 fi;
#endif
       if
       :: ok != 3 && RENEW_COND -> lu = L + 1
       :: else -> ok = (ok == 1 -> 4 : ok)    /* 4: answered, not held */
       fi;
       if
       :: ok == 1 -> dl[me] = L;
          printf("runner %c: renews, held for %d ticks\n", 65 + me, L)
       :: ok == 4 -> bel[me] = false;
          printf("runner %c: renewal answers LOST\n", 65 + me)
       :: ok == 2 -> printf("runner %c: renewal fails, no answer (it was applied)\n", 65 + me)
       :: ok == 3 -> printf("runner %c: renewal fails, no answer (not applied)\n", 65 + me)
       fi;
       ok = 0
     }

  /* hand the lease back (spreading, or unsubscribe) */
  :: atomic {
       bel[me] && !hand[me] ->
#ifdef HANDBACK_LATE
       /* handBack(): release sent first ... */
       if :: owner == id -> owner = 0; lu = 0 :: else -> skip fi;
       hand[me] = true;
       printf("runner %c: hands the lease back (release sent)\n", 65 + me)
#else
       /* stop starting events first ... */
       bel[me] = false; hand[me] = true;
       printf("runner %c: stops delivering, to hand the lease back\n", 65 + me)
#endif
     }
  :: atomic {
       hand[me] ->
#ifdef HANDBACK_LATE
       /* ... and `lost` set only once it is answered */
       bel[me] = false;
       printf("runner %c: release answered, stops delivering\n", 65 + me)
#else
       /* ... then release (releaseLeaseSql) */
       if :: owner == id -> owner = 0; lu = 0 :: else -> skip fi;
       printf("runner %c: releases the lease\n", 65 + me)
#endif
       ;
       hand[me] = false
     }

  /* unsubscribe while standing by: leaves the process's registry */
  :: atomic { !bel[me] && !hand[me] && !deliv[me] -> registered[pr]--; live[me] = false; printf("runner %c: unsubscribed\n", 65 + me) };
     break
  od unless { killed[pr] };
done:
  skip
}

/* the clock: a tick only when every live holder has sent this tick's renewal; one jump */
#ifdef NO_SYNC
  #define ON_TIME(r) true
#else
  #define ON_TIME(r) (!live[r] || !bel[r] || hand[r] || renewed[r])
#endif

/* d ticks pass: every relative time goes down (not below 0) */
inline pass(d) {
  lu = (lu > d -> lu - d : 0);
  dl[0] = (dl[0] > d -> dl[0] - d : 0);
  dl[1] = (dl[1] > d -> dl[1] - d : 0);
  dl[2] = (dl[2] > d -> dl[2] - d : 0);
  renewed[0] = false; renewed[1] = false; renewed[2] = false
}

active proctype clock()
{
end:
  do
  :: d_step { ON_TIME(0) && ON_TIME(1) && ON_TIME(2) -> pass(1); printf("-- tick\n") }
#ifndef NO_JUMP
  :: d_step { !jumped -> pass(J); jumped = true;
              printf("-- CLOCK JUMP of %d ticks (a process paused for a whole lease)\n", J) }
#endif
  od
}

#ifndef NO_KILL
/* SIGKILL, once: a process stops at once, without releasing; its row stays as it was */
active proctype sigkill()
{
  if
  :: atomic { !killed[0] -> killed[0] = true; deliv[0] = false; deliv[1] = false; sh[0] = false; sh[1] = false;
              bel[0] = false; bel[1] = false; live[0] = false; live[1] = false;
              printf("SIGKILL process P (runners A, B)\n") }
  :: atomic { !killed[1] -> killed[1] = true; deliv[2] = false; sh[2] = false; bel[2] = false; live[2] = false;
              printf("SIGKILL process Q (runner C)\n") }
  fi
}
#endif

#ifdef RESET_WHILE_RUNNING
/* resetSubscription(name, cp, { whileRunning: true }) before: owner and lease time cleared */
active proctype admin()
{
  atomic { owner != 0 -> owner = 0; lu = 0; printf("resetSubscription whileRunning: owner = NULL\n") }
}
#endif
#ifdef RESET_KEEPS_LEASE
/* resetSubscription(name, cp, { whileRunning: true }): resetRunningCheckpointSql clears the owner
   and keeps lease_until */
active proctype admin()
{
  atomic { owner != 0 -> owner = 0; printf("resetSubscription whileRunning: owner = NULL, lease time kept\n") }
}
#endif

init
{
  atomic {
    run runner(0, 0, P_ID);      /* A: process P */
#ifdef RUNNER_IDENTITY
    run runner(1, 0, B_ID);      /* B: process P, its own identity */
#else
    run runner(1, 0, P_ID);      /* B: process P, the same name again */
#endif
    run runner(2, 1, Q_ID)       /* C: process Q */
  }
}
