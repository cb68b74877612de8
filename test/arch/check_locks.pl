#!/usr/bin/env perl
# test/arch/check_locks.pl — nothing that allocates, raises, logs or reads
# the catalog runs while childguard holds an LWLock or a spinlock.
#
# A textual check over src/**/*.c, PostgreSQL style assumed (a function's
# name at the start of a line, its body between a "{" and a "}" alone on
# their lines):
#   - a function "may allocate" if its body calls palloc and friends,
#     ereport/elog, a catalog or syscache access, or another function of
#     src/ that may (to a fixpoint, across files);
#   - a lock region runs from LWLockAcquire/SpinLockAcquire to the release
#     at the same brace depth; a release inside a block that then returns
#     (or breaks, continues) is an early exit, and the region goes on after
#     that block;
#   - every call in a region to a function that may allocate, or to one of
#     the listed ones, is reported with its file, line and function.
# Also: every memory context is made by AllocSetContextCreate() with the
# ALLOCSET_*_SIZES macros.
# Calls through function pointers are not seen; the audit queue's only one
# (the writer starter) is made after the lock is released.
# Exit 0 when there is none, 1 otherwise.
#
# Usage: perl test/arch/check_locks.pl [--src DIR]
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Find;
use Getopt::Long;

my $src = dirname(__FILE__) . "/../../src";
GetOptions('src=s' => \$src) or exit 2;

# what must not run under a lock (besides our functions that reach it)
my $DENIED = qr/^(?:palloc0?|palloc_extended|repalloc|pfree|pstrdup|pnstrdup|psprintf|
	MemoryContext(?:Alloc\w*|Strdup|Create\w*|Reset|Delete)|AllocSetContextCreate\w*|
	makeStringInfo|initStringInfo|appendStringInfo\w*|
	ereport|elog|errstart|
	table_open|table_close|relation_open|relation_close|try_relation_open|
	SearchSysCache\w*|GetSysCacheOid\w*|systable_\w+|heap_form_tuple|heap_copytuple|
	get_\w+_oid|get_rel_\w+|lookup_type_cache|
	CStringGetTextDatum|cstring_to_text\w*|text_to_cstring|
	fopen|AllocateFile|hash_search|hash_create)$/x;

my (%body, %file_of, %line_of);    # function => text, file, first line
my @files;
find({ no_chdir => 1, wanted => sub { push @files, $_ if -f $_ && /\.c$/ } }, $src);

for my $f (sort @files)
{
	open my $fh, '<', $f or die "check_locks: $f: $!\n";
	my $text = do { local $/; <$fh> };
	close $fh;
	# blank out comments, strings and character constants, keeping lines
	$text =~ s{/\*.*?\*/}{ (my $c = $&) =~ s/[^\n]/ /g; $c }gse;
	$text =~ s{"(?:[^"\\\n]|\\.)*"}{""}g;
	$text =~ s{'(?:[^'\\\n]|\\.)*'}{''}g;
	my @lines = split /\n/, $text, -1;
	my ($name, $start, $in) = (undef, 0, 0);
	for my $i (0 .. $#lines)
	{
		my $l = $lines[$i];
		if (!$in && $l =~ /^([A-Za-z_]\w*)\(/) { $name = $1; next; }
		if (!$in && $l eq '{' && defined $name) { ($in, $start) = (1, $i); $body{$name} = ''; next; }
		if ($in && $l eq '}')
		{
			($file_of{$name}, $line_of{$name}) = ($f, $start + 1);
			($in, $name) = (0, undef);
			next;
		}
		$body{$name} .= sprintf("%d\t%s\n", $i + 1, $l) if $in;
	}
}

sub calls { my ($text) = @_; return $text =~ /\b([A-Za-z_]\w*)\s*\(/g; }

# functions of src/ that may allocate, raise, log or read the catalog
my %may;
for my $fn (keys %body)
{
	$may{$fn} = 1 if grep { $_ =~ $DENIED } calls($body{$fn});
}
for (my $changed = 1; $changed;)
{
	$changed = 0;
	for my $fn (keys %body)
	{
		next if $may{$fn};
		if (grep { $may{$_} } calls($body{$fn})) { $may{$fn} = 1; $changed = 1; }
	}
}

my @problems;
for my $fn (sort keys %body)
{
	my @l = map { [ split /\t/, $_, 2 ] } split /\n/, $body{$fn};
	for (my $i = 0; $i < @l; $i++)
	{
		next unless $l[$i][1] =~ /\b(LWLockAcquire|SpinLockAcquire)\s*\(/;
		my $kind = $1;
		(my $release = $kind) =~ s/Acquire/Release/;
		# depth: braces opened since the acquire; a release at depth 0 ends
		# the region, a deeper one followed by a return before its block
		# closes is an early exit and the region goes on after that block
		my ($j, $depth) = ($i + 1, 0);
		while ($j < @l)
		{
			my $t = $l[$j][1];
			if ($t =~ /\b$release\s*\(/)
			{
				last if $depth <= 0;
				my ($d, $k, $exits) = (0, $j + 1, 0);
				for (; $k < @l; $k++)
				{
					my $u = $l[$k][1];
					if ($d == 0 && $u =~ /\breturn\b|\bproc_exit\s*\(|\bcontinue\b|\bbreak\b/) { $exits = 1; }
					$d += () = $u =~ /\{/g;
					$d -= () = $u =~ /\}/g;
					last if $d < 0;
				}
				last unless $exits;
				$depth += -1;    # the block that closed at $k
				$j = $k + 1;
				next;
			}
			for my $c (calls($t))
			{
				next if $c eq $fn;
				next unless $c =~ $DENIED || $may{$c};
				push @problems, sprintf("%s:%d: %s() calls %s() while holding a lock (%s at line %d)",
					$file_of{$fn}, $l[$j][0], $fn, $c, $kind, $l[$i][0]);
			}
			$depth += () = $t =~ /\{/g;
			$depth -= () = $t =~ /\}/g;
			$j++;
		}
	}
}

# memory contexts: the standard macro with the standard sizes, always
for my $fn (sort keys %body)
{
	my $text = join("\n", map { (split /\t/, $_, 2)[1] // '' } split /\n/, $body{$fn});
	while ($text =~ /\b((?:AllocSet|Generation|Slab)ContextCreate\w*)\s*\(([^;]*)/g)
	{
		my ($call, $args) = ($1, $2);
		push @problems, "$file_of{$fn}: $fn() calls $call(); use AllocSetContextCreate()"
		  if $call ne 'AllocSetContextCreate';
		push @problems, "$file_of{$fn}: $fn() creates a memory context without ALLOCSET_*_SIZES"
		  if $call eq 'AllocSetContextCreate' && $args !~ /\bALLOCSET_\w+_SIZES\b/;
	}
}

if (@problems)
{
	print "check_locks: FAIL\n";
	print "$_\n" for @problems;
	exit 1;
}
printf "check_locks: ok (%d functions, none that allocates, raises, logs or reads the catalog under a lock)\n",
  scalar(keys %body);
exit 0;
