/*
 * accesstoken.h - "drsjoin token": an access token from a stored PRT
 * (accesstoken.c; token.c is the join's token sources).
 */
#ifndef DRS_ACCESSTOKEN_H
#define DRS_ACCESSTOKEN_H

int cmd_token(int argc, char **argv);

#endif
