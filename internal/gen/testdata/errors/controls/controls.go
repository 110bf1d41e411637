// Package controls misuses unique=, priority=, cron= and limit=: each
// problem at the column of what causes it.
package controls

import "context"

//futures:task durable unique=args,period=soon
func BadPeriod(ctx context.Context, id int64) error { return nil }

//futures:task durable unique=args,bogus
func BadItem(ctx context.Context, id int64) error { return nil }

//futures:task durable unique=args,states=running|completed
func BadStates(ctx context.Context, id int64) error { return nil }

//futures:task durable unique=args,states=available|pending|running|scheduled|done
func UnknownState(ctx context.Context, id int64) error { return nil }

//futures:task durable unique=args,args
func Twice(ctx context.Context, id int64) error { return nil }

//futures:task durable unique=queue,args
func NoArgs(ctx context.Context) error { return nil }

//futures:task unique=args
func NotJSON(ctx context.Context, c chan int) error { return nil }

//futures:task every=1m unique=period=1h
func PeriodicUnique(ctx context.Context) error { return nil }

//futures:task priority=2
func NotDurable(ctx context.Context) error { return nil }

//futures:task durable priority=5
func PriorityRange(ctx context.Context) error { return nil }

//futures:task limit=0
func ZeroLimit(ctx context.Context) error { return nil }

//futures:task every=1m limit=2
func PeriodicLimit(ctx context.Context) error { return nil }

//futures:task cron="*/5 * * *"
func FourFields(ctx context.Context) error { return nil }

//futures:task cron="*/5 25 * * *"
func BadHour(ctx context.Context) error { return nil }

//futures:task timeout=1m cron="0 9 * * MON-FRX"
func BadWeekday(ctx context.Context) error { return nil }

//futures:task cron=@fortnightly
func BadDescriptor(ctx context.Context) error { return nil }

//futures:task cron="0 0 30 2 *"
func NeverFires(ctx context.Context) error { return nil }

//futures:task cron="CRON_TZ=Mars/Olympus 0 9 * * *"
func BadZone(ctx context.Context) error { return nil }

//futures:task cron=@hourly every=1h
func BothSchedules(ctx context.Context) error { return nil }

//futures:task cron=@hourly delay=1m
func CronDelay(ctx context.Context) error { return nil }

//futures:task cron=@hourly
func CronArgs(ctx context.Context, id int64) error { return nil }
