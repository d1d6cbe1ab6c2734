/* scheduler.c - one timer armed for the earliest deadline, never a polling loop
 *
 * The timer sleeps until the earliest next_at of the inventory, but never longer than a
 * minute: libuv timers run on the monotonic clock, deadlines on the wall clock, so the
 * wall clock is read again at every wake-up and a jump either way is noticed within a
 * minute. An action is due only when the wall clock has reached its deadline.
 *
 * Two steps make records due other than by time passing, and go through the mass-deletion
 * guard (rtn_guard_advance): the first wake-up after start (what fell due while the daemon
 * was down), and a jump of the wall clock forward of more than CLOCK_JUMP beyond the
 * monotonic clock between two wake-ups (a host that boots a year ahead). Each lasts until
 * its backlog is moved.
 */
#include "scheduler.h"

#include <string.h>
#include <time.h>

#include "guard.h"
#include "jobs.h"
#include "log.h"

#define MAX_SLEEP_MS 60000
#define CLOCK_JUMP   300  /* seconds the wall clock may run ahead of the monotonic one */
#define BATCH        1000 /* due records moved per transaction and loop turn */

static struct daemon *D;
static void (*due)(void); /* records became due: the dispatcher looks */
static uv_timer_t timer;
static bool started;
static unsigned long wakeups;
static unsigned error_ms; /* backoff after a failed advance */
static const char *step;  /* the guarded step under way ("start-up", "clock"), or NULL */
static int64_t last_wall_ms;
static uint64_t last_mono_ms;

#define MIN_ERROR_MS 250
#define MAX_ERROR_MS 30000

static int64_t wall_ms(void);

/* The milliseconds until second `at` has begun. The timer's clock (libuv's, monotonic,
 * cached per turn of the loop, in whole milliseconds) may fire up to a millisecond before
 * the wall clock gets there, and the daemon's clock counts whole seconds: one millisecond
 * more, so that the wake-up finds the deadline come instead of arming a 0 ms timer again
 * and again until the second begins. */
static uint64_t delay_until(rtn_time_t at)
{
	int64_t now_ms = wall_ms();
	int64_t ms = (int64_t)at * 1000 - now_ms;
	if (ms < 0)
		ms = 0;
	else if (at > daemon_now())
		ms += 1;
	return ms > MAX_SLEEP_MS ? MAX_SLEEP_MS : (uint64_t)ms;
}

static void on_timer(uv_timer_t *t);
/* The dispatcher was told of the notices due by this time (see arm) */
static rtn_time_t notices_told = RTN_TIME_MIN;

static void arm(void)
{
	rtn_time_t next;
	if (rtn_jobs_next_wake(&D->engine, &next) < 0) {
		rtn_err("scheduler: cannot read the next deadline: %s",
		        rtn_engine_errmsg(&D->engine));
		next = RTN_TIME_NONE;
	}
	/* A notice's time wakes the timer too, once: the dispatcher is told when notices fall
	 * due (those due by notices_told were told), and takes them then or when their
	 * backend connects, so an absent backend is no busy loop. */
	rtn_time_t notice;
	if (rtn_jobs_notice_wake(&D->engine, notices_told, &notice) == 0 &&
	    notice != RTN_TIME_NONE && (next == RTN_TIME_NONE || notice < next))
		next = notice;
	uint64_t ms = next == RTN_TIME_NONE ? MAX_SLEEP_MS : delay_until(next);
	uv_timer_start(&timer, on_timer, ms, 0);
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Has the wall clock jumped forward since the last wake-up? One that jumped back releases
 * what an earlier jump paused and is not due any more. */
static bool clock_jumped(void)
{
	int64_t w = wall_ms();
	uint64_t m = uv_hrtime() / 1000000;
	int64_t ahead = (w - last_wall_ms) - (int64_t)(m - last_mono_ms);
	last_wall_ms = w;
	last_mono_ms = m;
	if (ahead < -(int64_t)CLOCK_JUMP * 1000) {
		int n = rtn_guard_undone(&D->engine, "clock", daemon_now());
		rtn_warn("scheduler: the wall clock jumped %lld s back; %d record%s paused by an "
		         "earlier jump and not due now went back to waiting",
		         (long long)(-ahead / 1000), n < 0 ? 0 : n, n == 1 ? "" : "s");
		return false;
	}
	if (ahead <= (int64_t)CLOCK_JUMP * 1000)
		return false;
	rtn_warn("scheduler: the wall clock jumped %lld s ahead of the monotonic clock; what "
	         "falls due through the jump goes through the mass-deletion guard",
	         (long long)(ahead / 1000));
	return true;
}

static void on_timer(uv_timer_t *t)
{
	(void)t;
	wakeups++;
	if (D->stopping)
		return;
	size_t n = 0;
	int paused = 0, r;
	if (clock_jumped())
		step = "clock";
	if (step)
		r = rtn_guard_advance(&D->engine, D->cfg.guard, step, daemon_now(), BATCH, &n,
		                      &paused);
	else
		r = rtn_engine_advance(&D->engine, daemon_now(), BATCH, &n);
	if (paused > 0)
		rtn_warn("mass-deletion guard: %s made more records due at once than the guard "
		         "allows; %d paused until `retentionctl guard confirm`",
		         !strcmp(step, "clock") ? "a jump of the wall clock" : "the start-up",
		         paused);
	if (r < 0) {
		/* Tried again with backoff, not at once: the due record is still due. */
		error_ms = error_ms ? (error_ms * 2 > MAX_ERROR_MS ? MAX_ERROR_MS : error_ms * 2)
		                    : MIN_ERROR_MS;
		rtn_err("scheduler: cannot move due records: %s; tried again in %u ms",
		        rtn_engine_errmsg(&D->engine), error_ms);
		uv_timer_start(&timer, on_timer, error_ms, 0);
		return;
	}
	error_ms = 0;
	if (n < BATCH)
		step = NULL; /* the step's backlog is moved */
	rtn_time_t notice, now = daemon_now();
	bool notices = rtn_jobs_notice_wake(&D->engine, notices_told, &notice) == 0 &&
	               notice != RTN_TIME_NONE && notice <= now;
	if (notices)
		notices_told = now;
	if (n) {
		rtn_info("scheduler: %zu record%s due", n, n == 1 ? "" : "s");
		due();
	} else if (notices) {
		due(); /* a notice is due: the dispatcher makes it a job */
	}
	if (n == BATCH) {
		/* More are due: continue on the next loop turn so clients are served. */
		uv_timer_start(&timer, on_timer, 0, 0);
		return;
	}
	arm();
}

int scheduler_init(struct daemon *d, void (*became_due)(void))
{
	D = d;
	due = became_due;
	int r = uv_timer_init(d->loop, &timer);
	if (r < 0)
		return r;
	started = true;
	step = "start-up";
	last_wall_ms = wall_ms();
	last_mono_ms = uv_hrtime() / 1000000;
	uv_timer_start(&timer, on_timer, 0, 0);
	return 0;
}

void scheduler_kick(void)
{
	if (!started || D->stopping)
		return;
	/* A change is also a moment to look at the clock: a jump is then noticed at once. */
	if (clock_jumped()) {
		step = "clock";
		uv_timer_start(&timer, on_timer, 0, 0);
		return;
	}
	arm();
}

unsigned long scheduler_wakeups(void)
{
	return wakeups;
}

void scheduler_fini(void)
{
	if (started) {
		uv_timer_stop(&timer);
		uv_close((uv_handle_t *)&timer, NULL);
		started = false;
	}
}
