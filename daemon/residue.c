/* residue.c - after deletions, the inventory's write-ahead log written back and cut off
 *
 * A deleted record's row is overwritten with zeros in the database file (secure_delete),
 * but the write-ahead log still holds the pages as they were before, until it is written
 * back and cut off. A few seconds after a deletion (so that a run of deletions costs one
 * checkpoint, not one per batch) the log is checkpointed with TRUNCATE. The timer runs
 * only while deletions are waiting for it: an idle daemon does not wake for it.
 */
#include "residue.h"

#include <errno.h>

#include "log.h"

#define RESIDUE_DELAY_MS 5000

static uv_timer_t timer;
static struct daemon *D;
static bool started;

static void on_timer(uv_timer_t *t)
{
	int r = rtn_engine_checkpoint(&D->engine);
	if (r == -EBUSY) {
		uv_timer_start(t, on_timer, RESIDUE_DELAY_MS, 0);
	} else if (r < 0) {
		rtn_warn("inventory: cannot checkpoint the write-ahead log after deletions: %s; "
		         "the next deletion tries again",
		         rtn_engine_errmsg(&D->engine));
	} else {
		rtn_debug("inventory: write-ahead log checkpointed and truncated after deletions");
	}
}

int residue_init(struct daemon *d)
{
	D = d;
	int r = uv_timer_init(d->loop, &timer);
	if (r == 0)
		started = true;
	return r;
}

void residue_deleted(size_t n)
{
	if (started && n && !uv_is_active((uv_handle_t *)&timer))
		uv_timer_start(&timer, on_timer, RESIDUE_DELAY_MS, 0);
}

void residue_fini(void)
{
	if (!started)
		return;
	uv_timer_stop(&timer);
	uv_close((uv_handle_t *)&timer, NULL);
	started = false;
}
