#!/usr/bin/env perl
# test/arch/check_duties.pl — every duty the compliance report checks has
# the test its row names, and that test breaks and repairs it.
#
# Reads every row inserted into childguard.compliance_duty by the install
# and upgrade scripts (sql/childguard--*.sql and the parts of the version
# under development, sql/update/*/*.sql): the duty's name is the row's
# first quoted string, its test the last one that names a file under sql/
# or test/.  Each named test file must exist and name the duty (in quotes,
# as the tests select the duty's row) or call its check function, at least
# twice: once where it is broken, once where it is repaired.  A textual
# check; a row whose test cannot be found this way is reported too.
# Exit 0 when every duty has its test, 1 otherwise.
#
# Usage: perl test/arch/check_duties.pl [--root DIR]
use strict;
use warnings;
use File::Basename qw(dirname);
use Getopt::Long;

my $root = dirname(__FILE__) . "/../..";
GetOptions('root=s' => \$root) or die "usage: check_duties.pl [--root DIR]\n";

sub slurp
{
	my ($f) = @_;
	open(my $fh, '<', $f) or return undef;
	local $/;
	my $s = <$fh>;
	close($fh);
	return $s;
}

my @scripts = (glob("$root/sql/childguard--*.sql"), glob("$root/sql/update/*/*.sql"));
my (@faults, %seen);
my $duties = 0;
for my $script (@scripts)
{
	my $text = slurp($script);
	while ($text =~ /INSERT\s+INTO\s+childguard\.compliance_duty\b(.*?);\s*$/gms)
	{
		my $values = $1;
		# the rows: "(...)" at depth one, outside quoted strings ('' is a
		# quote inside one); each row's quoted strings in order
		my (@rows, @strings, $depth, $in, $str);
		$depth = 0;
		$in = 0;
		my @c = split(//, $values);
		for (my $i = 0; $i < @c; $i++)
		{
			my $ch = $c[$i];
			if ($in)
			{
				if ($ch eq "'" && $i + 1 < @c && $c[$i + 1] eq "'")
				{
					$str .= "'";
					$i++;
				}
				elsif ($ch eq "'")
				{
					$in = 0;
					push @strings, $str if $depth == 1;
				}
				else
				{
					$str .= $ch;
				}
			}
			elsif ($ch eq "'")
			{
				$in = 1;
				$str = '';
			}
			elsif ($ch eq '(')
			{
				$depth++;
				@strings = () if $depth == 1;
			}
			elsif ($ch eq ')')
			{
				push @rows, [@strings] if $depth == 1;
				$depth-- if $depth > 0;
			}
		}
		for my $row (@rows)
		{
			next if !@$row || $row->[0] !~ /^[a-z][a-z0-9_]*$/;
			my $duty = $row->[0];
			my @files = grep { m{^(?:sql|test)/} } @$row;
			$duties++;
			(my $where = $script) =~ s/^\Q$root\E\/?//;
			if (!@files)
			{
				push @faults, "$where: duty \"$duty\" names no test file";
				next;
			}
			my $test = $files[-1];
			my $body = slurp("$root/$test");
			if (!defined $body)
			{
				push @faults, "$where: duty \"$duty\": test $test does not exist";
				next;
			}
			# its row by name, or its check function called directly
			my @fn = map { /^[\w.]*?(\w+)\(/ ? $1 : () } grep { /\(\)$/ } @$row;
			my $n = () = $body =~ /'\Q$duty\E'/g;
			$n += () = $body =~ /\b\Q$_\E\s*\(/g for @fn;
			push @faults, "$where: duty \"$duty\": $test checks it $n time(s); it must break and repair it"
				if $n < 2;
			push @faults, "$where: duty \"$duty\" is registered twice" if $seen{$duty}++;
		}
	}
}
if (@faults)
{
	print "check_duties: $_\n" for @faults;
	exit 1;
}
print "check_duties: $duties duties, each broken and repaired by the test it names\n";
exit 0;
