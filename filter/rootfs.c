/* rootfs.c — container rootfs from chdir + pivot_root, else from docker's on-disk state, and
 * the container's name and image (see rootfs.h). Owns nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_meta.h"
#include "path.h"
#include "rootfs.h"
#include "schema.h"

#define CHDIR_LOOKBACK 64 /* events of the same process examined before pivot_root */

static bool ok(const struct m_event *e)
{
	return e->has_success ? e->success : (e->has_exit && e->exit == 0);
}

static bool inode_match(const struct m_event *chdir_ev, const struct m_event *pivot)
{
	const struct m_path *c = chdir_ev->npaths ? &chdir_ev->paths[0] : NULL;

	if (!c || c->inode < 0)
		return false;
	for (size_t i = 0; i < pivot->npaths; i++) {
		const struct m_path *p = &pivot->paths[i];

		if (p->inode == c->inode && (!p->dev || !c->dev || strcmp(p->dev, c->dev) == 0))
			return true;
	}
	return false;
}

const char *rootfs_from_pivot(struct model *m, int idx, int pivot_ev, const char **ret_src)
{
	const struct m_proc *p = &m->procs[idx];
	const struct m_event *pivot = &m->events[pivot_ev];
	const char *weak = NULL;
	size_t k, seen = 0;

	*ret_src = NULL;
	for (k = 0; k < p->nevents && p->events[k] != pivot_ev; k++)
		;
	while (k-- > 0 && seen++ < CHDIR_LOOKBACK) {
		const struct m_event *e = &m->events[p->events[k]];
		char *abs = NULL;
		const char *res;

		if (!e->syscall || strcmp(e->syscall, "chdir") != 0 || !ok(e) || !e->npaths ||
		    !e->paths[0].name)
			continue;
		/* the name the process passed, against the cwd it had before the chdir */
		if (path_join(e->cwd, e->paths[0].name, &abs) < 0 || !path_is_absolute(abs)) {
			free(abs);
			continue;
		}
		res = model_strdup(m, abs);
		free(abs);
		if (inode_match(e, pivot)) {
			*ret_src = "chdir+pivot_root";
			return res;
		}
		if (!weak)
			weak = res;
	}
	if (weak)
		*ret_src = "chdir-before-pivot_root";
	return weak;
}

/* Copy a malloc'd string into the arena and free it. */
static const char *keep(struct model *m, char *s)
{
	const char *r = model_strdup(m, s);

	free(s);
	return r;
}

/* The rootfs of a container whose pivot_root was not recorded: the OCI bundle's root.path
 * while the container runs, else the overlay2 mount it keeps until it is removed. */
static const char *rootfs_from_docker(struct model *m, const char *id, const char **ret_src)
{
	char *path = NULL;

	*ret_src = NULL;
	for (size_t i = 0; i < 2; i++)
		if (m->runtime_roots[i] &&
		    docker_meta_oci_rootfs(m->runtime_roots[i], id, &path) == 0) {
			*ret_src = "oci-config";
			return keep(m, path);
		}
	if (m->docker_root && docker_meta_overlay_rootfs(m->docker_root, id, &path) == 0) {
		*ret_src = "overlay-mount";
		return keep(m, path);
	}
	return NULL;
}

/* The listener's facts of container id (container_facts, recorded when it first saw it). */
static const struct m_cfacts *facts_of(const struct model *m, const char *id)
{
	for (size_t i = 0; i < m->ncfacts; i++)
		if (strcmp(m->cfacts[i].id, id) == 0)
			return &m->cfacts[i];
	return NULL;
}

/* "listener:<how the listener found it>" */
static const char *listener_src(struct model *m, const char *how)
{
	char buf[96];

	snprintf(buf, sizeof(buf), "%s:%s", SCHEMA_SRC_LISTENER, how ? how : "?");
	return model_strdup(m, buf);
}

int rootfs_run(struct model *m)
{
	for (size_t c = 0; c < m->nconts; c++) {
		struct m_cont *ct = &m->conts[c];
		const struct m_cfacts *f = facts_of(m, ct->id);

		ct->facts = f;

		/* the init's pivot_root, else any member's */
		if (ct->init >= 0 && m->procs[ct->init].pivot_event >= 0)
			ct->rootfs = rootfs_from_pivot(m, ct->init, m->procs[ct->init].pivot_event,
						       &ct->rootfs_src);
		for (size_t k = 0; k < ct->ntree && !ct->rootfs; k++) {
			int i = ct->tree[k];

			if (m->procs[i].pivot_event >= 0)
				ct->rootfs = rootfs_from_pivot(m, i, m->procs[i].pivot_event,
							       &ct->rootfs_src);
		}
		/* what the listener saw while the container was there, before what is left now */
		if (!ct->rootfs && f && f->rootfs && path_is_absolute(f->rootfs)) {
			ct->rootfs = f->rootfs;
			ct->rootfs_src = listener_src(m, f->rootfs_src);
		}
		if (!ct->rootfs)
			ct->rootfs = rootfs_from_docker(m, ct->id, &ct->rootfs_src);
		if (!ct->rootfs)
			m->n.containers_without_rootfs++;
		if (f && f->name) {
			ct->name = f->name;
			ct->name_src = SCHEMA_SRC_LISTENER;
		}
		if (f && f->image) {
			ct->image = f->image;
			ct->image_src = SCHEMA_SRC_LISTENER;
		}
		if ((!ct->name || !ct->image) && m->docker_root) {
			char *name = NULL, *image = NULL;

			if (docker_meta_name_image(m->docker_root, ct->id, &name, &image) == 0) {
				if (!ct->name && name) {
					ct->name = keep(m, name);
					ct->name_src = SCHEMA_SRC_FILTER_TIME;
				} else {
					free(name);
				}
				if (!ct->image && image) {
					ct->image = keep(m, image);
					ct->image_src = SCHEMA_SRC_FILTER_TIME;
				} else {
					free(image);
				}
			}
		}
		for (size_t k = 0; k < ct->ntree; k++)
			m->procs[ct->tree[k]].rootfs = ct->rootfs;
	}
	return 0;
}
