/*-------------------------------------------------------------------------
 *
 * held_cursor.h
 *	  Is a cursor WITH HOLD being kept past its transaction right now?
 *	  (held_cursor.c)
 *
 *-------------------------------------------------------------------------
 */
#ifndef CHILDGUARD_HELD_CURSOR_H
#define CHILDGUARD_HELD_CURSOR_H

extern bool cg_held_cursor_persisting(void);
extern void cg_held_cursor_refuse(void);

#endif							/* CHILDGUARD_HELD_CURSOR_H */
